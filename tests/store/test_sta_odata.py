"""Parsers of SensorThings resource paths and OData query options (no store needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.store.sta_odata import (
    DEFAULT_TOP,
    MAX_TOP,
    Arithmetic,
    Comparison,
    Constant,
    Duration,
    Expand,
    FunctionCall,
    Geometry,
    Logical,
    Not,
    OrderKey,
    PathSegment,
    PropertyRef,
    ResourcePath,
    comparison_type,
    parse_filter,
    parse_query_options,
    parse_resource_path,
)
from tweeling.store.sta_schema import ENTITY_TYPES

THINGS = ENTITY_TYPES["Things"]
OBSERVATIONS = ENTITY_TYPES["Observations"]
LOCATIONS = ENTITY_TYPES["Locations"]
DATASTREAMS = ENTITY_TYPES["Datastreams"]


def ref(name: str, type_: str, *navigation: str, json_path: tuple[str, ...] = ()) -> PropertyRef:
    return PropertyRef(navigation, name, json_path, type_)  # type: ignore[arg-type]


# -- resource paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments", "prop", "value", "ref_", "entity", "collection"),
    [
        ("Things", [("Things", None)], None, False, False, "Things", True),
        ("/Things(1)/", [("Things", 1)], None, False, False, "Things", False),
        (
            "Things(1)/Datastreams",
            [("Things", 1), ("Datastreams", None)],
            None,
            False,
            False,
            "Datastreams",
            True,
        ),
        (
            "Datastreams(5)/Observations",
            [("Datastreams", 5), ("Observations", None)],
            None,
            False,
            False,
            "Observations",
            True,
        ),
        (
            "Observations(7)/Datastream/Thing",
            [("Observations", 7), ("Datastream", None), ("Thing", None)],
            None,
            False,
            False,
            "Things",
            False,
        ),
        ("Things(1)/name", [("Things", 1)], "name", False, False, "Things", False),
        ("Things(1)/id", [("Things", 1)], "@iot.id", False, False, "Things", False),
        ("Things(1)/name/$value", [("Things", 1)], "name", True, False, "Things", False),
        (
            "Things(1)/Locations/$ref",
            [("Things", 1), ("Locations", None)],
            None,
            False,
            True,
            "Locations",
            True,
        ),
        (
            "Datastreams(2)/Thing/$ref",
            [("Datastreams", 2), ("Thing", None)],
            None,
            False,
            True,
            "Things",
            False,
        ),
        (
            "Things(1)/Datastreams(3)/Observations",
            [("Things", 1), ("Datastreams", 3), ("Observations", None)],
            None,
            False,
            False,
            "Observations",
            True,
        ),
    ],
)
def test_resource_paths(
    text: str,
    segments: list[tuple[str, int | None]],
    prop: str | None,
    value: bool,
    ref_: bool,
    entity: str,
    collection: bool,
) -> None:
    path = parse_resource_path(text)
    assert path == ResourcePath(tuple(PathSegment(n, i) for n, i in segments), prop, value, ref_)
    assert path.entity_type.set_name == entity
    assert path.is_collection is collection
    assert parse_resource_path(str(path)) == path


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("", InvalidInputError, "empty resource path"),
        ("Thingz", NotFoundError, "no entity set 'Thingz': entity sets are Things, Locations"),
        ("Things(abc)", InvalidInputError, r"invalid id 'abc' in Things\(abc\): ids are integers"),
        ("Things('1')", InvalidInputError, "ids are integers"),
        ("Things(99999999999999999999)", InvalidInputError, "ids are integers"),
        (
            "Things/Datastreams",
            InvalidInputError,
            r"Things is a collection: address one entity, e\.g\. Things\(1\)",
        ),
        ("Things(1)/Sensors", NotFoundError, "Thing has no 'Sensors'"),
        ("Things(1)/name/description", NotFoundError, "'name' is a property"),
        ("Things(1)/$value", InvalidInputError, r"\$value follows a property"),
        ("Things(1)/name/$ref", InvalidInputError, r"\$ref follows an entity or a collection"),
        ("Things/$ref/name", InvalidInputError, r"\$ref must end the resource path"),
        ("Datastreams(1)/Thing(2)", InvalidInputError, "Thing is a single entity; it takes no id"),
        ("Things(1)/name(2)", NotFoundError, "Thing has no 'name'"),
    ],
)
def test_resource_path_errors(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_resource_path(text)


# -- $filter -------------------------------------------------------------------------------------


def test_filter_comparison_and_relation_paths() -> None:
    assert parse_filter("Datastream/ObservedProperty/name eq 'NO2'", OBSERVATIONS) == Comparison(
        "eq", ref("name", "string", "Datastream", "ObservedProperty"), Constant("NO2", "string"), "string"
    )
    assert parse_filter("Datastreams/ObservedProperty/name eq 'NO2'", THINGS) == Comparison(
        "eq", ref("name", "string", "Datastreams", "ObservedProperty"), Constant("NO2", "string"), "string"
    )
    assert parse_filter("Thing/properties/owner eq 'RIVM'", DATASTREAMS) == Comparison(
        "eq", ref("properties", "json", "Thing", json_path=("owner",)), Constant("RIVM", "string"), "string"
    )
    assert parse_filter("unitOfMeasurement/symbol eq 'µg/m³'", DATASTREAMS).left == ref(  # type: ignore[union-attr]
        "unitOfMeasurement", "json", json_path=("symbol",)
    )


def test_filter_ids_and_results() -> None:
    for text in ("id eq 3", "@iot.id eq 3"):
        assert parse_filter(text, THINGS) == Comparison(
            "eq", ref("@iot.id", "number"), Constant(3, "number"), "number"
        )
    assert parse_filter("result gt 30.5", OBSERVATIONS) == Comparison(
        "gt", ref("result", "result"), Constant(30.5, "number"), "number"
    )
    assert parse_filter("result eq 'storing'", OBSERVATIONS).as_type == "string"  # type: ignore[union-attr]
    assert parse_filter("result eq true", OBSERVATIONS).as_type == "string"  # type: ignore[union-attr]
    assert parse_filter("result eq null", OBSERVATIONS).as_type == "null"  # type: ignore[union-attr]


def test_filter_precedence_and_before_or_not_before_and() -> None:
    a = Comparison("eq", ref("name", "string"), Constant("a", "string"), "string")
    b = Comparison("eq", ref("name", "string"), Constant("b", "string"), "string")
    c = Comparison("eq", ref("description", "string"), Constant("c", "string"), "string")
    assert parse_filter("name eq 'a' or name eq 'b' and description eq 'c'", THINGS) == Logical(
        "or", a, Logical("and", b, c)
    )
    assert parse_filter("(name eq 'a' or name eq 'b') and description eq 'c'", THINGS) == Logical(
        "and", Logical("or", a, b), c
    )
    assert parse_filter("not name eq 'a' and name eq 'b'", THINGS) == Logical("and", Not(a), b)
    assert parse_filter("NOT (name EQ 'a' OR name Eq 'b')", THINGS) == Not(Logical("or", a, b))


def test_filter_arithmetic_binds_tighter_than_comparison() -> None:
    parsed = parse_filter("result add 2 mul 3 gt -5", OBSERVATIONS)
    assert parsed == Comparison(
        "gt",
        Arithmetic(
            "add",
            ref("result", "result"),
            Arithmetic("mul", Constant(2, "number"), Constant(3, "number"), "number"),
            "number",
        ),
        Constant(-5, "number"),
        "number",
    )


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("'it''s'", Constant("it's", "string")),
        ("''", Constant("", "string")),
        ("42", Constant(42, "number")),
        ("-4.25", Constant(-4.25, "number")),
        ("1.5e3", Constant(1500.0, "number")),
        ("99999999999999999999", Constant(1e20, "number")),
        ("2024-01-01T10:00:00Z", Constant(datetime(2024, 1, 1, 10, tzinfo=UTC), "datetime")),
        ("2024-01-01T10:00:00.123456789Z", Constant(datetime(2024, 1, 1, 10, 0, 0, 123456, UTC), "datetime")),
        ("2024-01-01T11:30:00+01:00", Constant(datetime(2024, 1, 1, 10, 30, tzinfo=UTC), "datetime")),
        ("2024-01-01T11:30:00 01:00", Constant(datetime(2024, 1, 1, 10, 30, tzinfo=UTC), "datetime")),
        ("2024-01-01T08:00:00-02:00", Constant(datetime(2024, 1, 1, 10, tzinfo=UTC), "datetime")),
        ("2024-01-01T10:00", Constant(datetime(2024, 1, 1, 10, tzinfo=UTC), "datetime")),
    ],
)
def test_filter_literals(literal: str, expected: Constant) -> None:
    entity = OBSERVATIONS
    field = "result" if expected.type in ("string", "number") else "resultTime"
    parsed = parse_filter(f"{field} eq {literal}", entity)
    assert isinstance(parsed, Comparison)
    assert parsed.right == expected


def test_date_time_duration_and_geometry_literals() -> None:
    parsed = parse_filter("date(resultTime) eq 2024-05-01 and time(resultTime) lt 10:30:00", OBSERVATIONS)
    assert isinstance(parsed, Logical)
    assert parsed.left.right == Constant(date(2024, 5, 1), "date")  # type: ignore[union-attr]
    assert parsed.right.right == Constant(time(10, 30), "time")  # type: ignore[union-attr]
    # a date compared with a datetime means midnight UTC
    assert parse_filter("resultTime ge 2024-05-01", OBSERVATIONS).right == Constant(  # type: ignore[union-attr]
        datetime(2024, 5, 1, tzinfo=UTC), "datetime"
    )
    last_day = parse_filter("phenomenonTime gt now() sub duration'P1DT2H30M'", OBSERVATIONS)
    assert last_day == Comparison(
        "gt",
        ref("phenomenonTime", "interval"),
        Arithmetic(
            "sub",
            FunctionCall("now", (), "datetime"),
            Constant(Duration(0, 1, 9000.0), "duration"),
            "datetime",
        ),
        "interval",
    )
    assert parse_filter("resultTime gt now() sub duration'P1Y2M1W'", OBSERVATIONS).right.right == Constant(  # type: ignore[union-attr]
        Duration(14, 7, 0.0), "duration"
    )
    assert parse_filter("resultTime gt now() add duration'-PT1.5S'", OBSERVATIONS).right.right == Constant(  # type: ignore[union-attr]
        Duration(0, 0, -1.5), "duration"
    )
    near = parse_filter("geo.distance(location, geography'SRID=4326;POINT(4.67 51.81)') lt 0.01", LOCATIONS)
    assert near == Comparison(
        "lt",
        FunctionCall(
            "geo.distance",
            (ref("location", "geometry"), Constant(Geometry("POINT (4.67 51.81)"), "geometry")),
            "number",
        ),
        Constant(0.01, "number"),
        "number",
    )


def test_interval_on_the_right_is_flipped_to_the_left() -> None:
    parsed = parse_filter("2024-05-01T10:00:00Z lt phenomenonTime", OBSERVATIONS)
    assert parsed == Comparison(
        "gt",
        ref("phenomenonTime", "interval"),
        Constant(datetime(2024, 5, 1, 10, tzinfo=UTC), "datetime"),
        "interval",
    )


@pytest.mark.parametrize(
    "text",
    [
        "substringof('Dord', name)",
        "endswith(name, 'weg') and startswith(name, 'Dord')",
        "length(name) gt 3 and indexof(name, 'a') eq 1",
        "substring(name, 1) eq 'x' or substring(name, 1, 2) eq 'x'",
        "tolower(name) eq 'x' or toupper(name) eq 'X' or trim(name) eq 'x'",
        "concat(name, description) eq 'xy'",
        "concat(properties/owner, 'x') eq 'RIVMx'",
        "startswith(name, 'D') eq true",
        "st_relate(Locations/location, geography'POINT(1 2)', 'T*F**F***')",
        "geo.intersects(Locations/location, geometry'POLYGON((4 51, 5 51, 5 52, 4 51))')",
        "geo.length(Locations/location) lt 1",
    ],
)
def test_functions_on_things(text: str) -> None:
    assert parse_filter(text, THINGS).type == "boolean"


@pytest.mark.parametrize(
    "text",
    [
        "year(phenomenonTime) eq 2024 and month(resultTime) eq 5 and day(validTime) eq 1",
        "hour(phenomenonTime) eq 10 and minute(phenomenonTime) eq 0 and second(phenomenonTime) eq 0",
        "fractionalseconds(resultTime) eq 0 and totaloffsetminutes(resultTime) eq 0",
        "hour(time(resultTime)) eq 10 and year(date(resultTime)) eq 2024",
        "resultTime gt mindatetime() and resultTime lt maxdatetime()",
        "round(result) eq 2 and floor(result) eq 1 and ceiling(result) eq 2",
        "result div 2 eq 1 and result mod 2 eq 0 and result sub 1 eq 0",
        "st_within(FeatureOfInterest/feature, geography'POLYGON((4 51, 5 51, 5 52, 4 51))')",
        "parameters/direction eq 'in' and Datastream/unitOfMeasurement/symbol eq '{count}'",
        "resultTime ge phenomenonTime",
        "phenomenonTime eq validTime",
        "resultQuality eq null and null eq validTime and null ne null",
    ],
)
def test_functions_on_observations(text: str) -> None:
    assert parse_filter(text, OBSERVATIONS).type == "boolean"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name eq 5", r"\$filter: cannot compare name \(string\) with 5 \(number\)"),
        ("name eq", r"\$filter: ends too early; expected"),
        ("name eq 'x", r"\$filter: unexpected character \"'\" at position 9"),
        ("name eq 'x' and", "ends too early"),
        ("name eq 'a' 'b'", r"unexpected \"'b'\" at position 13; expected"),
        ("name eq eq", "Thing has no property or navigation 'eq'"),
        ("foo eq 1", r"Thing has no property or navigation 'foo' \(properties: @iot.id, name"),
        ("Datastreams/foo eq 1", "Datastream has no property or navigation 'foo'"),
        ("length(name)", r"length\(\) \(number\) is not a condition"),
        ("name", r"name \(string\) is not a condition"),
        ("Datastreams eq 1", "Datastreams is an entity, not a value"),
        ("year(name) eq 1", r"argument 1 of year\(\) must be a datetime or date, not name \(string\)"),
        ("length(name, name) eq 1", r"length\(\) takes 1 argument\(s\), got 2"),
        ("substring(name) eq 'x'", r"substring\(\) takes 2 or 3 argument\(s\), got 1"),
        ("frobnicate(name) eq 1", "unknown function 'frobnicate'"),
        ("name/x eq 'a'", "name of Thing has no members"),
        ("properties/x-y eq 'a'", "unexpected"),
        ("st_relate(Locations/location, Locations/location, 'nonsense')", "DE-9IM pattern"),
        ("Locations/location eq geography'POINT(1 2)'", "use st_equals for geometries"),
        ("geo.distance(Locations/location, geography'POINT(1)') lt 1", "invalid WKT"),
        ("geo.distance(Locations/location, geography'SRID=28992;POINT(1 2)') lt 1", "not SRID=28992"),
        ("st_within(Locations/location, geography'POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))')", "Self-intersection"),
        ("st_within(Locations/location, geography'POINT EMPTY')", "empty geometry"),
        ("name eq null or name gt null", "null can only be compared with eq or ne, not gt"),
        ("name add 1 eq 'a'", r"cannot add name \(string\) and 1 \(number\)"),
        ("-name eq 'a'", "'-' applies to numbers"),
        ("name eq 'a' and 1e999 eq 1", "number 1e999 is out of range"),
        ("name eq '" + "x" * 10_001 + "'", "too long"),
        ("(" * 70 + "name eq 'a'" + ")" * 70 + " and not", "ends too early"),
        ("not " * 70 + "name eq 'a'", "nested too deeply"),
    ],
)
def test_filter_errors_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        parse_filter(text, THINGS)
    assert "\n" not in caught.value.message
    assert caught.value.status == 400
    assert caught.value.invalid_params[0]["name"] == "$filter"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("resultTime gt 2024-13-01T10:00:00Z", "invalid datetime '2024-13-01T10:00:00Z'"),
        ("date(resultTime) eq 2024-02-30", "invalid date '2024-02-30'"),
        ("time(resultTime) eq 25:00:00", "invalid time '25:00:00'"),
        ("resultTime gt now() sub duration'1D'", "invalid duration"),
        ("resultTime gt now() sub duration'PT'", "invalid duration"),
        ("result eq 'a' and phenomenonTime eq resultQuality", "cannot compare phenomenonTime"),
    ],
)
def test_literal_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_filter(text, OBSERVATIONS)


def test_comparison_types() -> None:
    assert comparison_type("interval", "datetime") == "interval"
    assert comparison_type("json", "number") == "number"
    assert comparison_type("result", "boolean") == "string"
    assert comparison_type("json", "json") == "string"
    assert comparison_type("result", "result") is None
    assert comparison_type("geometry", "geometry") is None
    assert comparison_type("string", "null") == "null"
    assert comparison_type("date", "datetime") is None


# -- the other options ---------------------------------------------------------------------------


def test_defaults() -> None:
    options = parse_query_options({}, THINGS)
    assert (options.top, options.skip, options.count, options.select, options.filter) == (
        DEFAULT_TOP,
        0,
        False,
        None,
        None,
    )
    assert parse_query_options({"unrelated": "x"}, THINGS).raw == ()


def test_top_skip_count_select_orderby() -> None:
    options = parse_query_options(
        {
            "$top": str(MAX_TOP),
            "$skip": "20",
            "$count": "true",
            "$select": "id,name,Datastreams,@iot.id",
            "$orderby": "name desc, id",
        },
        THINGS,
    )
    assert (options.top, options.skip, options.count) == (10_000, 20, True)
    assert options.select == ("@iot.id", "name", "Datastreams")
    assert options.orderby == (
        OrderKey(ref("name", "string"), descending=True),
        OrderKey(ref("@iot.id", "number"), descending=False),
    )
    assert parse_query_options({"$select": "*"}, THINGS).select is None
    assert (
        parse_query_options({"$orderby": "length(name) ASC"}, THINGS).orderby[0].expression.type == "number"
    )


def test_expand_nested_options_and_path_form() -> None:
    options = parse_query_options(
        {
            "$expand": "Datastreams($filter=name eq 'a;b,c';$top=2;$count=true;"
            "$expand=Observations($top=3;$orderby=phenomenonTime desc)),Locations"
        },
        THINGS,
    )
    datastreams, locations = options.expand
    assert datastreams.navigation == "Datastreams"
    assert datastreams.options.filter == Comparison(
        "eq", ref("name", "string"), Constant("a;b,c", "string"), "string"
    )
    assert (datastreams.options.top, datastreams.options.count) == (2, True)
    (observations,) = datastreams.options.expand
    assert observations.navigation == "Observations"
    assert observations.options.top == 3
    assert observations.options.orderby == (OrderKey(ref("phenomenonTime", "interval"), True),)
    assert observations.options.raw == (("$top", "3"), ("$orderby", "phenomenonTime desc"))
    assert locations == Expand("Locations", parse_query_options({}, LOCATIONS))
    merged = parse_query_options(
        {"$expand": "Datastreams/ObservedProperty,Datastreams/Sensor($select=name)"}, THINGS
    )
    (only,) = merged.expand
    assert [e.navigation for e in only.options.expand] == ["ObservedProperty", "Sensor"]
    assert only.options.expand[1].options.select == ("name",)


def _nested_expand(navigation: list[str]) -> str:
    text = navigation[-1]
    for name in reversed(navigation[:-1]):
        text = f"{name}($expand={text})"
    return text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"$top": "10001"}, r"\$top: 10001 is above the maximum of 10000"),
        ({"$top": "-1"}, r"\$top: must be a non-negative integer, got '-1'"),
        ({"$top": "ten"}, r"\$top: must be a non-negative integer"),
        ({"$skip": "1.5"}, r"\$skip: must be a non-negative integer"),
        ({"$count": "yes"}, r"\$count: must be true or false, got 'yes'"),
        ({"$search": "x"}, r"unknown query option '\$search'"),
        ({"$select": "name,colour"}, r"\$select: Thing has no 'colour'"),
        ({"$orderby": "Datastreams/name"}, r"\$orderby: sorts by the entity's own properties only"),
        ({"$orderby": "name sideways"}, r"\$orderby: unexpected 'sideways'"),
        ({"$orderby": ""}, r"\$orderby: empty sort key"),
        ({"$expand": "Sensors"}, r"\$expand: Thing has no navigation property 'Sensors'"),
        ({"$expand": "Datastreams($top=1"}, r"\$expand: has a '\(' without a matching '\)'"),
        ({"$expand": "Datastreams($top)"}, r"\$expand: option '\$top' of Datastreams needs '='"),
        ({"$expand": "Datastreams($frob=1)"}, r"unknown query option '\$frob'"),
        ({"$expand": "Datastreams(top=1)"}, r"unknown query option 'top'"),
        (
            {"$expand": "Datastreams($top=1),Datastreams($top=2)"},
            "Datastreams is expanded twice with different",
        ),
        (
            {"$expand": "Datastreams($filter=foo eq 1)"},
            r"\$filter: Datastream has no property or navigation 'foo'",
        ),
        ({"$expand": "Datastreams($top=20000)"}, r"\$top: 20000 is above the maximum"),
        ({"$resultFormat": "dataArray"}, "dataArray applies to a collection of Observations"),
        ({"$resultFormat": "GeoJSON"}, "the only result format is dataArray"),
        ({"$expand": _nested_expand(["Datastreams", "Thing"] * 4)}, "nested more than 5 levels"),
    ],
)
def test_option_errors(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_query_options(params, THINGS)


def test_data_array_on_observations() -> None:
    options = parse_query_options({"$resultFormat": "dataArray", "$select": "id,result"}, OBSERVATIONS)
    assert options.result_format == "dataArray"
    with pytest.raises(InvalidInputError, match="cannot be combined with"):
        parse_query_options({"$resultFormat": "dataArray", "$expand": "Datastream"}, OBSERVATIONS)


# -- fuzzing: malformed input only ever gives InvalidInputError -----------------------------------

VALID_FILTERS = [
    "Datastreams/ObservedProperty/name eq 'NO2' and not (properties/owner ne 'RIVM')",
    "result gt 30.5 or phenomenonTime ge 2024-01-01T10:00:00+01:00 and resultTime lt now() sub duration'P1D'",
    "geo.distance(FeatureOfInterest/feature, geography'POINT(4.67 51.81)') lt 0.01",
    "substring(tolower(Datastream/name), 1, 2) eq 'o2' or year(resultTime) eq 2024",
    "st_relate(FeatureOfInterest/feature, geometry'POLYGON((4 51, 5 51, 5 52, 4 51))', 'T********')",
    "round(result div 7) mod 2 eq 1 and -result lt 0 and @iot.id ne null",
]
ALPHABET = "()',/ -:.eqandorntlgsubTZP0123456789@$;"


@st.composite
def mutated_filters(draw: st.DrawFn) -> str:
    text = list(draw(st.sampled_from(VALID_FILTERS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        char = draw(st.sampled_from(ALPHABET))
        if action == "insert":
            text.insert(position, char)
        elif action == "delete" and position < len(text):
            del text[position]
        elif action == "replace" and position < len(text):
            text[position] = char
        elif action == "duplicate":
            end = draw(st.integers(position, min(len(text), position + 20)))
            text[position:position] = text[position:end]
    return "".join(text)


def _only_invalid_input(params: dict[str, str], entity_set: str) -> None:
    try:
        parse_query_options(params, ENTITY_TYPES[entity_set])
    except InvalidInputError as exc:
        assert exc.message and "\n" not in exc.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_filters(), st.sampled_from(["Observations", "Things", "Datastreams"]))
def test_fuzz_mutated_filters(text: str, entity_set: str) -> None:
    _only_invalid_input({"$filter": text}, entity_set)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["$filter", "$expand", "$orderby", "$select", "$top", "$count"]))
def test_fuzz_arbitrary_text(text: str, option: str) -> None:
    _only_invalid_input({option: text}, "Things")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="()$;=,/'DatsremObvinpfxlcq 12", max_size=60))
def test_fuzz_expand(text: str) -> None:
    _only_invalid_input({"$expand": text}, "Things")
