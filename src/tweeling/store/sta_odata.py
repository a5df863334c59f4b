"""Parsers of SensorThings API 1.1 request URLs: the resource path and the OData query options.

Pure functions, no SQL: ``parse_resource_path`` turns ``Things(1)/Datastreams`` into a
``ResourcePath``; ``parse_query_options`` turns ``$filter``, ``$expand``, ``$select``,
``$orderby``, ``$top``, ``$skip``, ``$count`` and ``$resultFormat`` into a ``QueryOptions`` whose
``$filter``/``$orderby`` are a typed AST. Every entity, navigation and property name is checked
against ``sta_schema.ENTITY_TYPES``; every error is an ``InvalidInputError`` (400) or, for a path
that names nothing, a ``NotFoundError`` (404), with a one-line message.

``$filter`` grammar (OData 4 as SensorThings 1.1 uses it), loosest binding first: ``or``;
``and``; ``not``; comparisons ``eq ne gt ge lt le``; ``add sub``; ``mul div mod``; unary ``-``;
parentheses. Operators and ``true false null`` are case-insensitive. Literals: ``'text'``
(``''`` is a quote), integers, decimals, ``true``/``false``/``null``, datetimes without quotes
(``2024-01-01T10:00:00Z``, ``...+01:00``; a missing offset means UTC, and a space in place of
``+`` is read as ``+`` because a URL query turns an unencoded ``+`` into a space), dates
(``2024-01-01``), times (``10:30:00``), ``duration'P1DT2H'`` and ``geography'POINT(4.67 51.81)'``
/ ``geometry'...'`` (WKT in WGS84 lon/lat, optionally ``SRID=4326;``). Property paths follow
relations (``Datastream/ObservedProperty/name``) and may end in JSON members of ``properties``,
``parameters``, ``unitOfMeasurement`` or ``resultQuality`` (``Thing/properties/owner``).
Functions: see ``FUNCTIONS``. Limits: 10,000 characters and a nesting depth of 60.
"""

from __future__ import annotations

import builtins
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal, NoReturn

import shapely
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken
from shapely.errors import ShapelyError

from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.store.sta_schema import ENTITY_TYPES, OBSERVATIONS, EntityType, Property

DEFAULT_TOP = 100
"""Entities per page when a request gives no ``$top``."""
MAX_TOP = 10_000
"""The largest ``$top`` accepted; a larger one is a 400 (page with ``@iot.nextLink``)."""
MAX_SKIP = 2**53
MAX_FILTER_LENGTH = 10_000
MAX_DEPTH = 60
MAX_EXPAND_DEPTH = 5
ID_PROPERTY = "@iot.id"
RESULT_FORMAT_DATA_ARRAY = "dataArray"
QUERY_OPTIONS = ("$filter", "$expand", "$select", "$orderby", "$top", "$skip", "$count", "$resultFormat")
_INT64_MAX = 2**63 - 1
_MAX_NUMBER_LENGTH = 40

ValueType = Literal[
    "string",
    "number",
    "boolean",
    "datetime",
    "date",
    "time",
    "duration",
    "geometry",
    "json",
    "result",
    "interval",
    "null",
]
"""Type of a filter expression. ``json`` is a member of a JSON property (string, number or boolean);
``result`` is an Observation's result (a number, or any JSON); ``interval`` a time that may be an
interval (phenomenonTime, validTime, a Datastream's resultTime)."""

Comparator = Literal["eq", "ne", "gt", "ge", "lt", "le"]
ArithmeticOperator = Literal["add", "sub", "mul", "div", "mod"]

# -- resource paths ------------------------------------------------------------------------------

_SEGMENT = re.compile(r"^([A-Za-z]+)(?:\((.*)\))?$", re.DOTALL)
_ID = re.compile(r"^\d{1,19}$")


@dataclass(frozen=True)
class PathSegment:
    """One step of a resource path: an entity set or navigation property, with an optional id."""

    name: str
    entity_id: int | None = None

    def __str__(self) -> str:
        return self.name if self.entity_id is None else f"{self.name}({self.entity_id})"


@dataclass(frozen=True)
class ResourcePath:
    """What a SensorThings URL addresses below the version root.

    ``segments`` start at an entity set and follow navigation properties; ``property`` names a
    property of the last entity (``Things(1)/name``), ``value`` asks for its raw value
    (``/$value``) and ``ref`` for links instead of entities (``/$ref``).
    """

    segments: tuple[PathSegment, ...]
    property: str | None = None
    value: bool = False
    ref: bool = False

    @builtins.property
    def entity_types(self) -> tuple[EntityType, ...]:
        """The entity type each segment addresses."""
        types = [ENTITY_TYPES[self.segments[0].name]]
        for segment in self.segments[1:]:
            relation = types[-1].relation(segment.name)
            if relation is None:
                raise NotFoundError(f"{types[-1].singular} has no navigation property {segment.name!r}")
            types.append(ENTITY_TYPES[relation.to])
        return tuple(types)

    @builtins.property
    def entity_type(self) -> EntityType:
        """The entity type of the last segment."""
        return self.entity_types[-1]

    @builtins.property
    def is_collection(self) -> bool:
        """True when the path addresses a collection of entities (or of their links)."""
        if self.property is not None:
            return False
        last = self.segments[-1]
        if last.entity_id is not None:
            return False
        if len(self.segments) == 1:
            return True
        relation = self.entity_types[-2].relation(last.name)
        return relation is not None and relation.many

    def __str__(self) -> str:
        parts = [str(segment) for segment in self.segments]
        if self.property is not None:
            parts.append("id" if self.property == ID_PROPERTY else self.property)
        if self.value:
            parts.append("$value")
        if self.ref:
            parts.append("$ref")
        return "/".join(parts)


def _entity_sets() -> str:
    return ", ".join(ENTITY_TYPES)


def _parse_id(raw: str, name: str) -> int:
    text = raw.strip()
    if not _ID.match(text) or int(text) > _INT64_MAX:
        raise InvalidInputError(
            f"invalid id {raw!r} in {name}({raw}): ids are integers, e.g. {name}(1)",
            invalid_params=[{"name": "path", "reason": f"invalid id {raw!r}"}],
        )
    return int(text)


def _names(entity: EntityType) -> str:
    properties = ", ".join(p.name for p in entity.properties)
    relations = ", ".join(r.name for r in entity.relations)
    return f"properties: {properties}; navigation: {relations}"


def parse_resource_path(text: str) -> ResourcePath:
    """Parse the part of a SensorThings URL after the version root, e.g. ``Things(1)/Datastreams``.

    NotFoundError for an unknown entity set, navigation or property; InvalidInputError for an
    id that is not an integer, navigation from a collection, or a misplaced ``$value``/``$ref``.
    """
    parts = text.strip("/").split("/")
    if parts == [""]:
        raise InvalidInputError("empty resource path: name an entity set, e.g. Things")
    segments: list[PathSegment] = []
    entity: EntityType | None = None
    single = False
    prop: str | None = None
    value = ref = False
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part in ("$value", "$ref"):
            if not last:
                raise InvalidInputError(f"{part} must end the resource path")
            if part == "$value":
                if prop is None:
                    raise InvalidInputError("$value follows a property, e.g. Things(1)/name/$value")
                value = True
            else:
                if prop is not None:
                    raise InvalidInputError("$ref follows an entity or a collection, not a property")
                ref = True
            continue
        if prop is not None:
            raise NotFoundError(f"{prop!r} is a property; nothing can follow it but $value")
        match = _SEGMENT.match("id" if part == ID_PROPERTY else part)
        if match is None:
            raise NotFoundError(f"no resource {part!r}: entity sets are {_entity_sets()}")
        name, raw_id = match.group(1), match.group(2)
        if entity is None:
            if name not in ENTITY_TYPES:
                raise NotFoundError(f"no entity set {name!r}: entity sets are {_entity_sets()}")
            entity_id = None if raw_id is None else _parse_id(raw_id, name)
            segments.append(PathSegment(name, entity_id))
            entity, single = ENTITY_TYPES[name], entity_id is not None
            continue
        if not single:
            raise InvalidInputError(
                f"{segments[-1]} is a collection: address one entity, e.g. {segments[-1].name}(1), "
                f"before {name}"
            )
        relation = entity.relation(name)
        if relation is None:
            property_ = entity.property("@iot.id" if name == "id" else name)
            if property_ is None or raw_id is not None:
                raise NotFoundError(f"{entity.singular} has no {name!r} ({_names(entity)})")
            prop = property_.name
            continue
        if raw_id is not None and not relation.many:
            raise InvalidInputError(f"{name} is a single entity; it takes no id")
        entity_id = None if raw_id is None else _parse_id(raw_id, name)
        segments.append(PathSegment(name, entity_id))
        entity = ENTITY_TYPES[relation.to]
        single = not relation.many or entity_id is not None
    return ResourcePath(tuple(segments), prop, value, ref)


# -- filter AST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration (``duration'P1DT2H'``); months (12 per year) are calendar months."""

    months: int
    days: int
    seconds: float

    @builtins.property
    def sql_text(self) -> str:
        """Interval text both DuckDB and PostgreSQL read, e.g. ``0 months 1 days 7200.000000 seconds``."""
        return f"{self.months} months {self.days} days {self.seconds:.6f} seconds"

    def as_timedelta(self) -> timedelta | None:
        """The duration as a timedelta, None when it has months (their length varies)."""
        if self.months:
            return None
        return timedelta(days=self.days, seconds=self.seconds)


@dataclass(frozen=True)
class Geometry:
    """A geometry literal as WKT in WGS84 (lon lat)."""

    wkt: str


@dataclass(frozen=True)
class Constant:
    """A literal: str, int, float, bool, None, datetime (UTC), date, time, Duration or Geometry."""

    value: Any
    type: ValueType


@dataclass(frozen=True)
class PropertyRef:
    """A property reached from the queried entity over ``navigation`` (relation names, in order).

    ``json_path`` holds member names below a JSON property (``properties/owner`` → ("owner",)).
    """

    navigation: tuple[str, ...]
    name: str
    json_path: tuple[str, ...]
    type: ValueType


@dataclass(frozen=True)
class FunctionCall:
    """A call of one of ``FUNCTIONS``, e.g. ``geo.distance(location, geography'POINT(...)')``."""

    name: str
    args: tuple[Expr, ...]
    type: ValueType


@dataclass(frozen=True)
class Arithmetic:
    """``left <operator> right`` with add, sub, mul, div or mod."""

    operator: ArithmeticOperator
    left: Expr
    right: Expr
    type: ValueType


@dataclass(frozen=True)
class Comparison:
    """``left <operator> right``; ``as_type`` is the type both sides are compared as."""

    operator: Comparator
    left: Expr
    right: Expr
    as_type: str
    type: ValueType = "boolean"


@dataclass(frozen=True)
class Logical:
    """``left and right`` or ``left or right``."""

    operator: Literal["and", "or"]
    left: Expr
    right: Expr
    type: ValueType = "boolean"


@dataclass(frozen=True)
class Not:
    """``not operand``."""

    operand: Expr
    type: ValueType = "boolean"


Expr = Constant | PropertyRef | FunctionCall | Arithmetic | Comparison | Logical | Not


@dataclass(frozen=True)
class OrderKey:
    """One ``$orderby`` key: an expression over the entity's own properties, and its direction."""

    expression: Expr
    descending: bool = False


@dataclass(frozen=True)
class Expand:
    """One ``$expand`` item: a navigation property of the parent and the options of its entities."""

    navigation: str
    options: QueryOptions


@dataclass(frozen=True)
class QueryOptions:
    """Parsed OData query options of a request (or of one ``$expand`` level).

    ``select`` is None for all properties and navigation links, else canonical names
    (``@iot.id`` for ``id``). ``raw`` keeps the options as given, for ``@iot.nextLink``.
    """

    filter: Expr | None = None
    expand: tuple[Expand, ...] = ()
    select: tuple[str, ...] | None = None
    orderby: tuple[OrderKey, ...] = ()
    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    result_format: str | None = None
    raw: tuple[tuple[str, str], ...] = field(default=())


# -- functions and type rules --------------------------------------------------------------------

ArgKind = Literal["text", "number", "datetime", "datetime_or_date", "datetime_or_time", "geometry", "pattern"]

FUNCTIONS: dict[str, tuple[tuple[ArgKind, ...], int, ValueType]] = {
    "substringof": (("text", "text"), 2, "boolean"),
    "endswith": (("text", "text"), 2, "boolean"),
    "startswith": (("text", "text"), 2, "boolean"),
    "length": (("text",), 1, "number"),
    "indexof": (("text", "text"), 2, "number"),
    "substring": (("text", "number", "number"), 2, "string"),
    "tolower": (("text",), 1, "string"),
    "toupper": (("text",), 1, "string"),
    "trim": (("text",), 1, "string"),
    "concat": (("text", "text"), 2, "string"),
    "year": (("datetime_or_date",), 1, "number"),
    "month": (("datetime_or_date",), 1, "number"),
    "day": (("datetime_or_date",), 1, "number"),
    "hour": (("datetime_or_time",), 1, "number"),
    "minute": (("datetime_or_time",), 1, "number"),
    "second": (("datetime_or_time",), 1, "number"),
    "fractionalseconds": (("datetime_or_time",), 1, "number"),
    "date": (("datetime",), 1, "date"),
    "time": (("datetime",), 1, "time"),
    "totaloffsetminutes": (("datetime",), 1, "number"),
    "now": ((), 0, "datetime"),
    "mindatetime": ((), 0, "datetime"),
    "maxdatetime": ((), 0, "datetime"),
    "round": (("number",), 1, "number"),
    "floor": (("number",), 1, "number"),
    "ceiling": (("number",), 1, "number"),
    "geo.distance": (("geometry", "geometry"), 2, "number"),
    "geo.length": (("geometry",), 1, "number"),
    "geo.intersects": (("geometry", "geometry"), 2, "boolean"),
    "st_equals": (("geometry", "geometry"), 2, "boolean"),
    "st_disjoint": (("geometry", "geometry"), 2, "boolean"),
    "st_touches": (("geometry", "geometry"), 2, "boolean"),
    "st_within": (("geometry", "geometry"), 2, "boolean"),
    "st_overlaps": (("geometry", "geometry"), 2, "boolean"),
    "st_crosses": (("geometry", "geometry"), 2, "boolean"),
    "st_intersects": (("geometry", "geometry"), 2, "boolean"),
    "st_contains": (("geometry", "geometry"), 2, "boolean"),
    "st_relate": (("geometry", "geometry", "pattern"), 3, "boolean"),
}
"""Filter functions: argument kinds, how many are required, and the result type."""

_ARG_TYPES: dict[ArgKind, frozenset[str]] = {
    "text": frozenset({"string", "json", "result"}),
    "number": frozenset({"number", "json", "result"}),
    "datetime": frozenset({"datetime", "interval"}),
    "datetime_or_date": frozenset({"datetime", "interval", "date"}),
    "datetime_or_time": frozenset({"datetime", "interval", "time"}),
    "geometry": frozenset({"geometry"}),
    "pattern": frozenset({"string"}),
}
_ARG_WORDS: dict[ArgKind, str] = {
    "text": "a string",
    "number": "a number",
    "datetime": "a datetime",
    "datetime_or_date": "a datetime or date",
    "datetime_or_time": "a datetime or time",
    "geometry": "a geometry",
    "pattern": "a DE-9IM pattern string such as 'T********'",
}
_KIND_TYPES: dict[str, ValueType] = {
    "id": "number",
    "text": "string",
    "json": "json",
    "geometry_json": "geometry",
    "time": "datetime",
    "interval": "interval",
    "result": "result",
    "number": "number",
}
_FLEXIBLE = frozenset({"json", "result"})
_ORDERED_COMPARISONS = frozenset({"gt", "ge", "lt", "le"})
_DE9IM = re.compile(r"^[TF*012]{9}$")


def property_type(prop: Property) -> ValueType:
    """The filter type of a stored property."""
    return _KIND_TYPES[prop.kind]


def comparison_type(left: ValueType, right: ValueType) -> str | None:
    """The type two sides are compared as, or None when they cannot be compared.

    ``null`` (either side is null: IS [NOT] NULL), ``interval`` (an interval property against a
    datetime), or a plain type; a JSON member or a result is compared as a number against a
    number and as text against a string or a boolean.
    """
    if "null" in (left, right):
        return "null"
    pair = {left, right}
    if "geometry" in pair:
        return None
    if "interval" in pair and pair <= {"interval", "datetime"}:
        return "interval"
    if pair & _FLEXIBLE:
        others = pair - _FLEXIBLE
        if not others:
            return "string" if pair == {"json"} else None
        other = next(iter(others))
        if other == "number":
            return "number"
        if other in ("string", "boolean"):
            return "string"
        return None
    return left if left == right else None


def _arithmetic_type(operator: str, left: ValueType, right: ValueType) -> ValueType | None:
    numeric = {"number", "json", "result"}
    if left in numeric and right in numeric:
        return "number"
    instant = {"datetime", "interval"}
    if operator == "add":
        if (left in instant and right == "duration") or (left == "duration" and right in instant):
            return "datetime"
        if left == right == "duration":
            return "duration"
    if operator == "sub":
        if left in instant and right == "duration":
            return "datetime"
        if left in instant and right in instant:
            return "duration"
        if left == right == "duration":
            return "duration"
    return None


# -- filter grammar ------------------------------------------------------------------------------

_GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr _OR and_expr -> or_
?and_expr: not_expr
         | and_expr _AND not_expr -> and_
?not_expr: comparison
         | _NOT not_expr -> not_
?comparison: additive
           | additive (EQ | NE | GT | GE | LT | LE) additive -> compare
?additive: multiplicative
         | additive (ADD | SUB) multiplicative -> arithmetic
?multiplicative: unary
               | multiplicative (MUL | DIV | MOD) unary -> arithmetic
?unary: primary
      | "-" primary -> negate
?primary: STRING | NUMBER | DATETIME | DATE | TIME | DURATION | GEOMETRY | TRUE | FALSE | NULL
        | function
        | path
        | "(" or_expr ")"
function: NAME "(" [or_expr ("," or_expr)*] ")"
path: path_part ("/" path_part)*
?path_part: NAME | IOT_ID

_OR: "or"i
_AND: "and"i
_NOT: "not"i
EQ: "eq"i
NE: "ne"i
GT: "gt"i
GE: "ge"i
LT: "lt"i
LE: "le"i
ADD: "add"i
SUB: "sub"i
MUL: "mul"i
DIV: "div"i
MOD: "mod"i
TRUE: "true"i
FALSE: "false"i
NULL: "null"i
IOT_ID: "@iot.id"
NAME: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?/
STRING: /'(?:[^']|'')*'/
DURATION.5: /duration'[^']*'/i
GEOMETRY.5: /(?:geography|geometry)'[^']*'/i
DATETIME.4: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|z|[+\- ]\d{2}:\d{2})?/
DATE.3: /\d{4}-\d{2}-\d{2}/
TIME.3: /\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?/
NUMBER.2: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/

%ignore /[ \t\r\n]+/
"""

_TERMINAL_WORDS = {
    "_OR": "or",
    "_AND": "and",
    "_NOT": "not",
    "LPAR": "(",
    "RPAR": ")",
    "COMMA": ",",
    "SLASH": "/",
    "MINUS": "-",
    "$END": "the end",
    "NAME": "a property or function name",
    "STRING": "a 'string'",
    "NUMBER": "a number",
    "IOT_ID": "@iot.id",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


def _fail(option: str, message: str) -> NoReturn:
    text = f"{option}: {message}"
    raise InvalidInputError(text, invalid_params=[{"name": option, "reason": message}])


def _expected_words(names: set[str]) -> str:
    words = sorted({_TERMINAL_WORDS.get(n, n.lower()) for n in names})
    if len(words) > 8:
        words = [*words[:8], "…"]
    return ", ".join(words)


def _parse_tree(text: str, option: str) -> Tree[Token] | Token:
    if len(text) > MAX_FILTER_LENGTH:
        _fail(option, f"too long ({len(text)} characters; at most {MAX_FILTER_LENGTH})")
    if not text.strip():
        _fail(option, "is empty")
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as exc:
        _fail(option, f"unexpected character {exc.char!r} at position {exc.column}")
    except UnexpectedEOF as exc:
        _fail(option, f"ends too early; expected {_expected_words(set(exc.expected))}")
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            _fail(option, f"ends too early; expected {_expected_words(set(exc.expected))}")
        _fail(
            option,
            f"unexpected {str(exc.token)!r} at position {exc.column}; "
            f"expected {_expected_words(set(exc.expected))}",
        )
    except LarkError as exc:
        _fail(option, f"cannot be parsed ({type(exc).__name__})")
    _check_depth(tree, option)
    return tree


def _check_depth(tree: Tree[Token] | Token, option: str) -> None:
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail(option, f"nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children)


_DURATION = re.compile(
    r"^(-)?P(?:(\d{1,6})Y)?(?:(\d{1,6})M)?(?:(\d{1,6})W)?(?:(\d{1,7})D)?"
    r"(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,12}(?:\.\d{1,9})?)S)?)?$"
)


def _duration(text: str, option: str) -> Duration:
    body = text[text.index("'") + 1 : -1]
    match = _DURATION.match(body)
    if match is None or body.endswith(("P", "T")) or body in ("-P", "P"):
        _fail(option, f"invalid duration {text!r}: use ISO 8601, e.g. duration'P1DT2H30M'")
    sign = -1 if match.group(1) else 1
    years, months, weeks, days, hours, minutes = (int(g or 0) for g in match.groups()[1:7])
    seconds = float(match.group(8) or 0) + hours * 3600 + minutes * 60
    return Duration(sign * (years * 12 + months), sign * (weeks * 7 + days), sign * seconds)


def _geometry(text: str, option: str) -> Geometry:
    body = text[text.index("'") + 1 : -1].strip()
    srid = re.match(r"^SRID=(\d+);", body, re.IGNORECASE)
    if srid is not None:
        if srid.group(1) != "4326":
            _fail(option, f"geometry literals are WGS84 (SRID=4326), not SRID={srid.group(1)}")
        body = body[srid.end() :]
    try:
        geometry = shapely.from_wkt(body, on_invalid="raise")
    except (ShapelyError, ValueError, TypeError):
        _fail(option, f"invalid WKT in {text[:60]!r}: e.g. geography'POINT(4.67 51.81)'")
    if geometry is None or geometry.is_empty:
        _fail(option, f"empty geometry in {text[:60]!r}")
    if not all(math.isfinite(c) for c in shapely.get_coordinates(geometry).ravel()):
        _fail(option, f"geometry {text[:60]!r} has coordinates that are not finite numbers")
    if not shapely.is_valid(geometry):
        _fail(option, f"invalid geometry {text[:60]!r}: {shapely.is_valid_reason(geometry)}")
    return Geometry(shapely.to_wkt(geometry, rounding_precision=-1))


def _datetime(text: str, option: str) -> datetime:
    value = text.strip()
    if len(value) > 16 and value[-6] == " ":
        value = value[:-6] + "+" + value[-5:]
    value = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("z", "Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(option, f"invalid datetime {text!r}: use ISO 8601, e.g. 2024-01-01T10:00:00Z")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        _fail(option, f"datetime {text!r} is out of range")


def _number(text: str, option: str) -> int | float:
    if len(text) > _MAX_NUMBER_LENGTH:
        _fail(option, f"number {text[:20]}… is too long")
    if re.fullmatch(r"\d+", text) and int(text) <= _INT64_MAX:
        return int(text)
    number = float(text)
    if not math.isfinite(number):
        _fail(option, f"number {text} is out of range")
    return number


def _literal(token: Token, option: str) -> Constant:
    text = str(token)
    kind = token.type
    if kind == "STRING":
        return Constant(text[1:-1].replace("''", "'"), "string")
    if kind == "NUMBER":
        return Constant(_number(text, option), "number")
    if kind in ("TRUE", "FALSE"):
        return Constant(kind == "TRUE", "boolean")
    if kind == "NULL":
        return Constant(None, "null")
    if kind == "DATETIME":
        return Constant(_datetime(text, option), "datetime")
    if kind == "DATE":
        try:
            return Constant(date.fromisoformat(text), "date")
        except ValueError:
            _fail(option, f"invalid date {text!r}: use YYYY-MM-DD")
    if kind == "TIME":
        try:
            return Constant(time.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text)), "time")
        except ValueError:
            _fail(option, f"invalid time {text!r}: use hh:mm:ss")
    if kind == "DURATION":
        return Constant(_duration(text, option), "duration")
    if kind == "GEOMETRY":
        return Constant(_geometry(text, option), "geometry")
    _fail(option, f"unexpected {text!r}")


def describe(expr: Expr) -> str:
    """A short description of an expression for error messages, e.g. ``name (string)``."""
    if isinstance(expr, PropertyRef):
        path = "/".join((*expr.navigation, expr.name, *expr.json_path))
        return f"{path} ({expr.type})"
    if isinstance(expr, Constant):
        shown = repr(expr.value) if expr.type in ("string", "number") else expr.type
        return f"{shown[:40]} ({expr.type})" if expr.type in ("string", "number") else shown
    if isinstance(expr, FunctionCall):
        return f"{expr.name}() ({expr.type})"
    return f"an expression ({expr.type})"


_FLIPPED: dict[Comparator, Comparator] = {
    "eq": "eq",
    "ne": "ne",
    "gt": "lt",
    "ge": "le",
    "lt": "gt",
    "le": "ge",
}


class _FilterBuilder:
    """Turns a lark parse tree into a typed, validated filter AST for one entity type."""

    def __init__(self, entity: EntityType, option: str, *, allow_navigation: bool = True) -> None:
        self.entity = entity
        self.option = option
        self.allow_navigation = allow_navigation

    def fail(self, message: str) -> NoReturn:
        _fail(self.option, message)

    def build(self, node: Tree[Token] | Token) -> Expr:
        if isinstance(node, Token):
            return _literal(node, self.option)
        kind = node.data
        children = node.children
        if kind in ("or_", "and_"):
            left, right = (self.condition(c) for c in children)
            return Logical("or" if kind == "or_" else "and", left, right)
        if kind == "not_":
            return Not(self.condition(children[0]))
        if kind == "compare":
            left, right = self.build(children[0]), self.build(children[2])
            return self.comparison(str(children[1]).lower(), left, right)  # type: ignore[arg-type]
        if kind == "arithmetic":
            return self.arithmetic(str(children[1]).lower(), self.build(children[0]), self.build(children[2]))
        if kind == "negate":
            operand = self.build(children[0])
            if isinstance(operand, Constant) and operand.type == "number":
                return Constant(-operand.value, "number")
            if isinstance(operand, Constant) and operand.type == "duration":
                duration = operand.value
                return Constant(Duration(-duration.months, -duration.days, -duration.seconds), "duration")
            if operand.type not in ("number", "json", "result"):
                self.fail(f"'-' applies to numbers, not to {describe(operand)}")
            return Arithmetic("sub", Constant(0, "number"), operand, "number")
        if kind == "function":
            return self.function(node)
        if kind == "path":
            return self.path([str(c) for c in children])
        self.fail(f"unexpected {kind}")

    def condition(self, node: Tree[Token] | Token) -> Expr:
        expr = self.build(node)
        if expr.type != "boolean":
            self.fail(f"{describe(expr)} is not a condition; compare it, e.g. with eq")
        return expr

    def comparison(self, operator: Comparator, left: Expr, right: Expr) -> Comparison:
        left, right = self._date_as_datetime(left, right), self._date_as_datetime(right, left)
        as_type = comparison_type(left.type, right.type)
        if as_type is None:
            hint = "; use st_equals for geometries" if "geometry" in (left.type, right.type) else ""
            self.fail(f"cannot compare {describe(left)} with {describe(right)}{hint}")
        if as_type == "null" and operator in _ORDERED_COMPARISONS:
            self.fail(f"null can only be compared with eq or ne, not {operator}")
        if as_type == "interval" and right.type == "interval" and left.type != "interval":
            left, right, operator = right, left, _FLIPPED[operator]
        return Comparison(operator, left, right, as_type)

    @staticmethod
    def _date_as_datetime(expr: Expr, other: Expr) -> Expr:
        """A date literal compared with a datetime means midnight UTC of that day."""
        if isinstance(expr, Constant) and expr.type == "date" and other.type in ("datetime", "interval"):
            return Constant(datetime.combine(expr.value, time(), UTC), "datetime")
        return expr

    def arithmetic(self, operator: str, left: Expr, right: Expr) -> Arithmetic:
        result = _arithmetic_type(operator, left.type, right.type)
        if result is None:
            self.fail(f"cannot {operator} {describe(left)} and {describe(right)}")
        return Arithmetic(operator, left, right, result)  # type: ignore[arg-type]

    def function(self, node: Tree[Token]) -> FunctionCall:
        name = str(node.children[0]).lower()
        args = tuple(self.build(c) for c in node.children[1:])
        if name not in FUNCTIONS:
            self.fail(f"unknown function {name!r}; functions: {', '.join(FUNCTIONS)}")
        kinds, required, result = FUNCTIONS[name]
        if not required <= len(args) <= len(kinds):
            wanted = str(required) if required == len(kinds) else f"{required} or {len(kinds)}"
            self.fail(f"{name}() takes {wanted} argument(s), got {len(args)}")
        for position, (arg, kind) in enumerate(zip(args, kinds, strict=False), start=1):
            if arg.type == "null" and kind != "pattern":
                continue
            if arg.type not in _ARG_TYPES[kind]:
                self.fail(f"argument {position} of {name}() must be {_ARG_WORDS[kind]}, not {describe(arg)}")
            if kind == "pattern" and not (isinstance(arg, Constant) and _DE9IM.match(str(arg.value))):
                self.fail(f"argument {position} of {name}() must be {_ARG_WORDS[kind]}")
        return FunctionCall(name, args, result)

    def path(self, names: list[str]) -> PropertyRef:
        entity = self.entity
        navigation: list[str] = []
        for index, raw in enumerate(names):
            name = ID_PROPERTY if raw == "id" else raw
            relation = entity.relation(name)
            if relation is not None:
                if not self.allow_navigation:
                    self.fail(f"sorts by the entity's own properties only, not by {'/'.join(names)}")
                navigation.append(name)
                entity = ENTITY_TYPES[relation.to]
                continue
            prop = entity.property(name)
            if prop is None:
                self.fail(f"{entity.singular} has no property or navigation {raw!r} ({_names(entity)})")
            json_path = tuple(names[index + 1 :])
            if json_path and prop.kind != "json":
                self.fail(f"{prop.name} of {entity.singular} has no members; {'/'.join(names)} names nothing")
            if any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", member) for member in json_path):
                self.fail(f"invalid member name in {'/'.join(names)}")
            return PropertyRef(tuple(navigation), prop.name, json_path, property_type(prop))
        self.fail(
            f"{'/'.join(names)} is an entity, not a value; compare one of its properties, "
            f"e.g. {'/'.join(names)}/@iot.id"
        )


def parse_filter(text: str, entity: EntityType) -> Expr:
    """Parse and check a ``$filter`` for entities of ``entity``; InvalidInputError on any problem."""
    builder = _FilterBuilder(entity, "$filter")
    return builder.condition(_parse_tree(text, "$filter"))


# -- the other options ---------------------------------------------------------------------------


def split_top_level(text: str, separator: str, option: str) -> list[str]:
    """Split on ``separator`` outside parentheses and 'quoted strings'."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                _fail(option, "has a ')' without a matching '('")
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if quoted:
        _fail(option, "has a string without its closing quote")
    if depth:
        _fail(option, "has a '(' without a matching ')'")
    parts.append(text[start:])
    return parts


def _non_negative_int(text: str, option: str) -> int:
    value = text.strip()
    if not re.fullmatch(r"\d{1,19}", value):
        _fail(option, f"must be a non-negative integer, got {text[:40]!r}")
    return int(value)


def _parse_select(text: str, entity: EntityType) -> tuple[str, ...] | None:
    names: list[str] = []
    for raw in split_top_level(text, ",", "$select"):
        name = raw.strip()
        if name == "*":
            return None
        canonical = ID_PROPERTY if name == "id" else name
        if entity.property(canonical) is None and entity.relation(canonical) is None:
            _fail("$select", f"{entity.singular} has no {name!r} ({_names(entity)})")
        if canonical not in names:
            names.append(canonical)
    return tuple(names)


def _parse_orderby(text: str, entity: EntityType) -> tuple[OrderKey, ...]:
    keys: list[OrderKey] = []
    builder = _FilterBuilder(entity, "$orderby", allow_navigation=False)
    for raw in split_top_level(text, ",", "$orderby"):
        match = re.fullmatch(r"(.*?)(?:\s+(asc|desc))?\s*", raw.strip(), re.IGNORECASE | re.DOTALL)
        if match is None or not match.group(1):
            _fail("$orderby", f"empty sort key in {text[:60]!r}")
        expression = builder.build(_parse_tree(match.group(1), "$orderby"))
        if expression.type in ("geometry", "null"):
            _fail("$orderby", f"cannot sort by {describe(expression)}")
        descending = (match.group(2) or "asc").lower() == "desc"
        keys.append(OrderKey(expression, descending))
    return tuple(keys)


def _expand_items(text: str, entity: EntityType, depth: int) -> tuple[Expand, ...]:
    if depth > MAX_EXPAND_DEPTH:
        _fail("$expand", f"nested more than {MAX_EXPAND_DEPTH} levels deep")
    merged: dict[str, list[tuple[str, str]]] = {}
    for raw in split_top_level(text, ",", "$expand"):
        item = raw.strip()
        if not item:
            _fail("$expand", f"empty item in {text[:60]!r}")
        opening = item.find("(")
        path_text = item if opening < 0 else item[:opening]
        options_text = None if opening < 0 else item[opening + 1 :]
        if options_text is not None:
            if not options_text.endswith(")"):
                _fail("$expand", f"options of {path_text!r} must end with ')'")
            options_text = options_text[:-1]
        names = [n.strip() for n in path_text.split("/")]
        head = names[0]
        relation = entity.relation(head)
        if relation is None:
            _fail(
                "$expand",
                f"{entity.singular} has no navigation property {head!r} "
                f"(navigation: {', '.join(r.name for r in entity.relations)})",
            )
        pairs: list[tuple[str, str]] = []
        if len(names) > 1:
            rest = "/".join(names[1:]) + ("" if options_text is None else f"({options_text})")
            pairs.append(("$expand", rest))
        elif options_text is not None:
            for option in split_top_level(options_text, ";", "$expand"):
                name, sep, value = option.strip().partition("=")
                if not sep:
                    _fail("$expand", f"option {option.strip()[:40]!r} of {head} needs '=', e.g. $top=5")
                pairs.append((name.strip(), value))
        existing = merged.setdefault(head, [])
        for name, value in pairs:
            previous = next((i for i, (n, _) in enumerate(existing) if n == name), None)
            if previous is None:
                existing.append((name, value))
            elif name == "$expand":
                existing[previous] = (name, f"{existing[previous][1]},{value}")
            elif existing[previous][1] != value:
                _fail("$expand", f"{head} is expanded twice with different {name}")
    items = []
    for head, pairs in merged.items():
        relation = entity.relation(head)
        assert relation is not None
        options = _parse_options(dict(pairs), ENTITY_TYPES[relation.to], depth + 1, nested=True)
        items.append(Expand(head, replace(options, raw=tuple(pairs))))
    return tuple(items)


def _parse_options(
    params: Mapping[str, str], entity: EntityType, depth: int, *, nested: bool = False
) -> QueryOptions:
    unknown = [key for key in params if key.startswith("$") and key not in QUERY_OPTIONS]
    if nested:
        unknown += [key for key in params if not key.startswith("$")]
    if unknown:
        name = unknown[0]
        _fail(name or "query", f"unknown query option {name!r}; options: {', '.join(QUERY_OPTIONS)}")
    options = QueryOptions()
    if "$filter" in params:
        options = replace(options, filter=parse_filter(params["$filter"], entity))
    if "$expand" in params:
        options = replace(options, expand=_expand_items(params["$expand"], entity, depth))
    if "$select" in params:
        options = replace(options, select=_parse_select(params["$select"], entity))
    if "$orderby" in params:
        options = replace(options, orderby=_parse_orderby(params["$orderby"], entity))
    if "$top" in params:
        top = _non_negative_int(params["$top"], "$top")
        if top > MAX_TOP:
            _fail("$top", f"{top} is above the maximum of {MAX_TOP}; page with $skip or follow @iot.nextLink")
        options = replace(options, top=top)
    if "$skip" in params:
        skip = _non_negative_int(params["$skip"], "$skip")
        if skip > MAX_SKIP:
            _fail("$skip", f"{skip} is above the maximum of {MAX_SKIP}")
        options = replace(options, skip=skip)
    if "$count" in params:
        flag = params["$count"].strip().lower()
        if flag not in ("true", "false"):
            _fail("$count", f"must be true or false, got {params['$count'][:40]!r}")
        options = replace(options, count=flag == "true")
    if "$resultFormat" in params:
        result_format = params["$resultFormat"].strip()
        if result_format != RESULT_FORMAT_DATA_ARRAY:
            _fail("$resultFormat", f"the only result format is dataArray, not {result_format[:40]!r}")
        if entity.set_name != OBSERVATIONS or nested:
            _fail("$resultFormat", "dataArray applies to a collection of Observations")
        if options.expand:
            _fail("$resultFormat", "dataArray cannot be combined with $expand")
        options = replace(options, result_format=result_format)
    raw = tuple((key, value) for key, value in params.items() if key in QUERY_OPTIONS)
    return replace(options, raw=raw)


def parse_query_options(params: Mapping[str, str], entity: EntityType) -> QueryOptions:
    """Parse the OData query options of a request on entities of ``entity``.

    Keys not starting with ``$`` are left to the caller; an unknown ``$`` option, an unknown
    name or a malformed value is an InvalidInputError naming the option.
    """
    return _parse_options(params, entity, 1)
