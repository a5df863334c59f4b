"""CQL2 filters, property filters and sortby: the SQL they compile to, the rows they select in both
stores (against pandas/geopandas), and fuzzing (arbitrary text, random well-formed filters)."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator
from functools import reduce
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import fresh_postgres_schema, postgres_url_or_skip
from tweeling.citymodel.areas import BUURTEN_SCHEMA, build_buurten
from tweeling.citymodel.datadir import DEMO_DIR
from tweeling.core.crs import transformer
from tweeling.core.errors import InvalidInputError
from tweeling.core.schema import FieldSpec, LayerSchema
from tweeling.store import LayerData, Store, open_store
from tweeling.store.cql2 import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    SqlFilter,
    as_dialect,
    combine_and,
    compile_cql2_text,
    compile_property_equals,
    order_by_sql,
    parse_sortby,
)

FIELDS = BUURTEN_SCHEMA.fields
DIALECTS = ["duckdb", "postgis"]
BUURTEN = build_buurten(gpd.read_parquet(DEMO_DIR / "cbs_buurten_2020.parquet"))
CENTRE_CRS84 = "POLYGON((4.66 51.80, 4.68 51.80, 4.68 51.82, 4.66 51.82, 4.66 51.80))"
CENTRE_RD = gpd.GeoSeries([shapely.from_wkt(CENTRE_CRS84)], crs=4326).to_crs(28992).iloc[0]
NASTY = [
    "'; DROP TABLE buurten; --",
    "' OR '1'='1",
    "1; DELETE FROM buurten",
    '"; DROP TABLE buurten; --',
    "') OR TRUE --",
    "%s",
    "?",
    "$1",
    "\\",
    "%%",
    "'",
    "''",
    "Matena's Pad en omgeving",
]


def sql_for(template: str, dialect: str) -> str:
    """A template with ``?`` placeholders and ``{g}`` for a WKB geometry, in the given dialect."""
    if dialect == "duckdb":
        return template.replace("{g}", "ST_GeomFromWKB(?)")
    return template.replace("?", "%s").replace("{g}", "ST_GeomFromWKB(%s, 28992)")


def compile_text(text: str, dialect: str = "duckdb", **options: Any) -> SqlFilter:
    return compile_cql2_text(text, FIELDS, dialect=as_dialect(dialect), **options)


def rejected(text: str, **options: Any) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        compile_text(text, **options)
    return info.value


# -- compiled SQL -------------------------------------------------------------------------------

UNIT_CASES: list[tuple[str, str, list[Any]]] = [
    ("aant_inw > 1000", "(aant_inw > ?)", [1000]),
    ("1000 <= aant_inw", "(? <= aant_inw)", [1000]),
    ("aant_inw <> 5 AND p_65_eo_jr >= 20", "((aant_inw <> ?) AND (p_65_eo_jr >= ?))", [5, 20]),
    ("aant_inw < 1.5 OR gem_hh_gr > -2", "((aant_inw < ?) OR (gem_hh_gr > ?))", [1.5, -2]),
    (
        "aant_inw = 1 OR aant_inw = 2 AND aant_man = 3",
        "((aant_inw = ?) OR ((aant_inw = ?) AND (aant_man = ?)))",
        [1, 2, 3],
    ),
    (
        "(aant_inw = 1 OR aant_inw = 2) AND aant_man = 3",
        "(((aant_inw = ?) OR (aant_inw = ?)) AND (aant_man = ?))",
        [1, 2, 3],
    ),
    (
        "aant_inw = 1 and aant_man = 2 and sted = 3",
        "((aant_inw = ?) AND (aant_man = ?) AND (sted = ?))",
        [1, 2, 3],
    ),
    ("NOT (aant_inw > 1000 AND bu_naam = 'x')", "(NOT ((aant_inw > ?) AND (bu_naam = ?)))", [1000, "x"]),
    ("NOT aant_inw = 1", "(NOT (aant_inw = ?))", [1]),
    ("aant_vrouw > aant_man", "(aant_vrouw > aant_man)", []),
    ("gem_hh_gr < aant_inw", "(gem_hh_gr < aant_inw)", []),
    ("bu_naam = 'Matena''s Pad en omgeving'", "(bu_naam = ?)", ["Matena's Pad en omgeving"]),
    ("\"bu_code\" = 'BU05050101'", "(bu_code = ?)", ["BU05050101"]),
    ("bu_naam LIKE 'Oud%'", "(bu_naam LIKE ? ESCAPE '\\')", ["Oud%"]),
    ("bu_naam NOT LIKE '_e\\%'", "(bu_naam NOT LIKE ? ESCAPE '\\')", ["_e\\%"]),
    ("bu_naam LIKE 'a\\b'", "(bu_naam LIKE ? ESCAPE '\\')", ["a\\\\b"]),
    ("CASEI(bu_naam) LIKE CASEI('%WIJK%')", "(lower(bu_naam) LIKE lower(?) ESCAPE '\\')", ["%WIJK%"]),
    ("CASEI(bu_naam) = CASEI('Centrum')", "(lower(bu_naam) = lower(?))", ["Centrum"]),
    ("bu_code IN ('BU05050101', 'BU05050102')", "(bu_code IN (?, ?))", ["BU05050101", "BU05050102"]),
    ("aant_inw NOT IN (1, 2.5)", "(aant_inw NOT IN (?, ?))", [1, 2.5]),
    ("aant_inw BETWEEN 100 AND 2000", "(aant_inw BETWEEN ? AND ?)", [100, 2000]),
    ("aant_inw NOT BETWEEN aant_man AND 2000", "(aant_inw NOT BETWEEN aant_man AND ?)", [2000]),
    ("p_65_eo_jr IS NULL", "(p_65_eo_jr IS NULL)", []),
    ("geometry IS NOT NULL", "(geom IS NOT NULL)", []),
    ("INCLUDE", "TRUE", []),
    ("EXCLUDE", "FALSE", []),
    ("aant_inw = 99999999999999999999", "(aant_inw = ?)", [1e20]),
    ("bu_naam = '; DROP TABLE buurten; --'", "(bu_naam = ?)", ["; DROP TABLE buurten; --"]),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("text", "template", "params"), UNIT_CASES)
def test_compiled_sql_and_params(text: str, template: str, params: list[Any], dialect: str) -> None:
    compiled = compile_text(text, dialect)
    assert compiled.sql == sql_for(template, dialect)
    assert compiled.params == params
    assert [type(p) for p in compiled.params] == [type(p) for p in params]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("S_INTERSECTS(geometry, POINT(4.67 51.81))", "ST_Intersects(geom, {g})"),
        ("S_WITHIN(geometry, POINT(4.67 51.81))", "ST_Within(geom, {g})"),
        ("S_CONTAINS(POINT(4.67 51.81), geometry)", "ST_Contains({g}, geom)"),
        ("s_disjoint(geometry, POINT(4.67 51.81))", "ST_Disjoint(geom, {g})"),
        ("S_TOUCHES(geometry, POINT(4.67 51.81))", "ST_Touches(geom, {g})"),
        ("S_CROSSES(geometry, POINT(4.67 51.81))", "ST_Crosses(geom, {g})"),
        ("S_OVERLAPS(geometry, POINT(4.67 51.81))", "ST_Overlaps(geom, {g})"),
        ("S_EQUALS(geometry, POINT(4.67 51.81))", "ST_Equals(geom, {g})"),
        ("S_INTERSECTS(geometry, geometry)", "ST_Intersects(geom, geom)"),
        (
            "aant_inw > 5 AND S_INTERSECTS(geometry, POINT(4.67 51.81)) AND bu_naam <> 'x'",
            "((aant_inw > ?) AND ST_Intersects(geom, {g}) AND (bu_naam <> ?))",
        ),
    ],
)
def test_spatial_sql_keeps_argument_order_and_binds_wkb(text: str, template: str, dialect: str) -> None:
    compiled = compile_text(text, dialect)
    assert compiled.sql == sql_for(template, dialect)
    point = shapely.Point(transformer(4326, 28992).transform(4.67, 51.81))
    for value in compiled.params:
        if isinstance(value, bytes):
            assert shapely.from_wkb(value).distance(point) < 1e-6


def test_crs84_polygon_is_transformed_to_rd() -> None:
    compiled = compile_text(f"S_INTERSECTS(geometry, {CENTRE_CRS84})")
    (wkb,) = compiled.params
    polygon = shapely.from_wkb(wkb)
    assert polygon.is_valid
    assert polygon.symmetric_difference(CENTRE_RD).area < 1e-3 * CENTRE_RD.area
    assert polygon.bounds == pytest.approx(CENTRE_RD.bounds, abs=1.0)


def test_rd_filter_crs_and_ewkt_srid_are_taken_as_they_are() -> None:
    compiled = compile_text("S_INTERSECTS(geometry, POINT(105000.5 424000))", filter_crs_epsg=28992)
    assert shapely.from_wkb(compiled.params[0]).equals(shapely.Point(105000.5, 424000))
    compiled = compile_text("S_INTERSECTS(geometry, SRID=28992;POINT(105000.5 424000))")
    assert shapely.from_wkb(compiled.params[0]).equals(shapely.Point(105000.5, 424000))
    compiled = compile_text("S_INTERSECTS(geometry, SRID=4326;POINT(4.67 51.81))", filter_crs_epsg=28992)
    assert shapely.from_wkb(compiled.params[0]).x == pytest.approx(105_540, abs=5)


@pytest.mark.parametrize(
    "text",
    [
        "BBOX(geometry, 4.66, 51.80, 4.68, 51.82)",
        f"BBOX(geometry, 4.66, 51.80, 4.68, 51.82, '{'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}')",
        "S_INTERSECTS(geometry, BBOX(4.66, 51.80, 4.68, 51.82))",
        "S_INTERSECTS(geometry, ENVELOPE(4.66 4.68 51.80 51.82))",
    ],
)
def test_bbox_forms_become_one_transformed_box(text: str) -> None:
    compiled = compile_text(text, "postgis")
    assert compiled.sql == "ST_Intersects(geom, ST_GeomFromWKB(%s, 28992))"
    assert shapely.from_wkb(compiled.params[0]).bounds == pytest.approx(CENTRE_RD.bounds, abs=1.0)


def test_bbox_in_rd_and_whole_world_bbox_clipped_to_the_netherlands() -> None:
    compiled = compile_text("BBOX(geometry, 104000, 421000, 106000, 423000, 'EPSG:28992')")
    assert shapely.from_wkb(compiled.params[0]).equals(shapely.box(104000, 421000, 106000, 423000))
    compiled = compile_text("BBOX(geometry, -180, -90, 180, 90)")
    world = shapely.from_wkb(compiled.params[0])
    assert world.contains(shapely.box(-30_000, 280_000, 320_000, 640_000))  # every coordinate the store takes
    assert len(compiled.params[0]) < 100_000
    compiled = compile_text("S_INTERSECTS(geometry, POINT(100 0))")
    assert shapely.from_wkb(compiled.params[0]).is_empty


def test_combine_and() -> None:
    assert combine_and([]) == SqlFilter("TRUE", [])
    one = compile_text("aant_inw > 5")
    assert combine_and([one]) == one
    two = combine_and(
        [one, compile_property_equals(BUURTEN_SCHEMA.field("wk_code"), "WK050501", dialect="duckdb")]
    )
    assert two.sql == "((aant_inw > ?)) AND ((wk_code = ?))"
    assert two.params == [5, "WK050501"]


# -- errors ---------------------------------------------------------------------------------------

ERROR_CASES = [
    ("hieght > 3", "unknown property 'hieght' in filter"),
    ("aant_inww > 3", "did you mean 'aant_inw'?"),
    ("aant_inw > 'abc'", "property 'aant_inw' is an integer, got the string 'abc'"),
    ("gem_hh_gr > TRUE", "property 'gem_hh_gr' is a number, got the boolean TRUE"),
    ("bu_naam > 5", "property 'bu_naam' is a string, got the number 5"),
    ("aant_inw > 1 AND", "invalid CQL2 filter: it ends too early"),
    ("aant_inw >> 1", "invalid CQL2 filter at character 11: unexpected '>'"),
    ("bu_naam = 'a", "invalid CQL2 filter at character 11"),
    ("aant_inw = 1)", "at character 13: unexpected ')'"),
    ("aant_inw + 1 > 2", "arithmetic (+ - * /) is not supported"),
    ("aant_inw = -aant_man", "arithmetic"),
    ("aant_inw T_BEFORE DATE('2020-01-01')", "temporal operators (T_...) are not supported"),
    ("aant_inw = INTERVAL('2020-01-01T00:00:00Z','2020-01-02T00:00:00Z')", "intervals"),
    ("RELATE(geometry, POINT(4 51), 'T********')", "RELATE"),
    ("foo(bu_naam) = 'x'", "function 'foo' is not supported; the only function is CASEI(x)"),
    ("CASEI(aant_inw) = 'x'", "CASEI() needs a string property"),
    ("1 = 1", "a comparison needs a property on one side"),
    ("bu_naam > aant_inw", "cannot compare property 'bu_naam' (string) with property 'aant_inw' (integer)"),
    ("geometry = 5", "the geometry can only be used in spatial predicates"),
    ("aant_inw = POINT(4 51)", "geometries can only be used in spatial predicates"),
    ("aant_inw LIKE '1%'", "LIKE needs a string property"),
    ("bu_naam LIKE bu_code", "LIKE needs a string pattern"),
    ("aant_inw IN (1, 'a')", "got the string 'a'"),
    ("aant_inw = 1e999", "number out of range"),
    ("DATE('2020-13-01') < aant_inw", "invalid CQL2 filter: a value cannot be read"),
    ("bu_naam = 'x\x00'", "NUL"),
    ("", "empty filter"),
    ("   ", "empty filter"),
    ("S_INTERSECTS(bu_naam, POINT(4.67 51.81))", "use the property 'geometry', not 'bu_naam'"),
    ("S_INTERSECTS(POINT(4 51), POINT(4 51))", "needs the property 'geometry'"),
    ("S_INTERSECTS(geometry, 5)", "needs a WKT geometry"),
    (
        "S_INTERSECTS(geometry, POLYGON((4 51, 5 52, 5 51, 4 52, 4 51)))",
        "invalid WKT geometry in S_INTERSECTS",
    ),
    ("S_WITHIN(geometry, POLYGON((4 51, 5 52, 4 51)))", "invalid WKT geometry in S_WITHIN"),
    ("S_INTERSECTS(geometry, POINT(105000 424000))", "longitude -180..180"),
    ("S_CROSSES(geometry, LINESTRING(0 0, 20 60))", "reaches outside the area the store covers"),
    ("S_CONTAINS(geometry, POLYGON((0 40, 20 40, 20 60, 0 60, 0 40)))", "reaches outside"),
    ("S_INTERSECTS(geometry, SRID=3857;POINT(1 2))", "SRID=3857"),
    ("BBOX(geometry, 5, 52, 4, 51)", "BBOX needs minx <= maxx and miny <= maxy"),
    ("BBOX(geometry, 4, 51, 5, 52, 'EPSG:3857')", "BBOX CRS 'EPSG:3857' is not supported"),
    ("S_INTERSECTS(geometry, BBOX(5, 52, 4, 51))", "west <= east"),
    ("S_INTERSECTS(geometry, BBOX(5, 52, 4))", "needs 4 (or 6) finite numbers"),
]


@pytest.mark.parametrize(("text", "fragment"), ERROR_CASES)
def test_errors_are_clear_invalid_input(text: str, fragment: str) -> None:
    error = rejected(text)
    assert fragment in error.message
    assert error.status == 400
    assert error.invalid_params == [{"name": "filter", "reason": error.message}]
    assert len(error.message) < 700


def test_unknown_property_lists_the_queryables() -> None:
    message = rejected("hieght > 3").message
    assert "queryable properties: bu_code, bu_naam," in message and message.endswith("geometry")


def test_limits() -> None:
    assert f"filter too long (max {MAX_FILTER_LENGTH:,} characters)" in rejected("a" * 10_001).message
    assert "nested too deeply" in rejected("NOT " * (MAX_DEPTH + 5) + "aant_inw = 1").message
    nested = "aant_inw = 0"
    for i in range(MAX_DEPTH + 5):
        nested = f"aant_inw = {i} {'AND' if i % 2 else 'OR'} ({nested})"
    assert "nested too deeply" in rejected(nested).message
    assert "too complex" in rejected("aant_inw IN (" + ", ".join(["1"] * 1200) + ")").message
    many = compile_text(" OR ".join(f"aant_inw = {i}" for i in range(200)))  # flat: no depth
    assert len(many.params) == 200
    deep_parens = "(" * 4_000 + "aant_inw = 1" + ")" * 4_000
    assert compile_text(deep_parens).sql == "(aant_inw = ?)"


def test_layer_without_geometry_and_bad_filter_crs() -> None:
    message = rejected("S_INTERSECTS(geometry, POINT(4 51))", has_geometry=False).message
    assert message.startswith("spatial predicates need a layer with geometry")
    assert "unknown property 'geometry'" in rejected("geometry IS NULL", has_geometry=False).message
    error = rejected("aant_inw > 1", filter_crs_epsg=3857)
    assert error.invalid_params[0]["name"] == "filter-crs"


def test_one_letter_property_names_work() -> None:
    fields = [FieldSpec(name="x", type="integer", description="x")]
    assert compile_cql2_text("x > 1", fields, dialect="duckdb").sql == "(x > ?)"


# -- property equality filters --------------------------------------------------------------------

TYPED_FIELDS = {
    "tid": FieldSpec(name="tid", type="integer", description="id"),
    "label": FieldSpec(name="label", type="string", description="label"),
    "value": FieldSpec(name="value", type="number", description="value"),
    "flag": FieldSpec(name="flag", type="boolean", description="flag"),
    "day": FieldSpec(name="day", type="date", description="day"),
    "ts": FieldSpec(name="ts", type="datetime", description="moment"),
}


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("tid", "12", 12),
        ("tid", "-3", -3),
        ("tid", "1.5", 1.5),
        ("value", "2.5", 2.5),
        ("value", "1e3", 1000.0),
        ("flag", "true", True),
        ("flag", "FALSE", False),
        ("day", "2020-01-02", dt.date(2020, 1, 2)),
        ("ts", "2020-01-02T10:00:00", dt.datetime(2020, 1, 2, 10)),
        ("ts", "2020-01-02T10:00:00+02:00", dt.datetime(2020, 1, 2, 8)),
        ("ts", "2020-01-02", dt.datetime(2020, 1, 2)),
        ("label", "it's; DROP TABLE x; --", "it's; DROP TABLE x; --"),
    ],
)
def test_property_equals_parses_per_type(name: str, raw: str, value: Any) -> None:
    for dialect, mark in (("duckdb", "?"), ("postgis", "%s")):
        compiled = compile_property_equals(TYPED_FIELDS[name], raw, dialect=as_dialect(dialect))
        assert compiled == SqlFilter(f"({name} = {mark})", [value])
        assert type(compiled.params[0]) is type(value)


@pytest.mark.parametrize(
    ("name", "raw", "fragment"),
    [
        ("tid", "abc", "property 'tid' is an integer, got 'abc'"),
        ("tid", "1_000", "is an integer"),
        ("value", "nan", "property 'value' is a number, got 'nan'"),
        ("value", "1e999", "out of range"),
        ("flag", "yes", "use true or false"),
        ("day", "2020-13-01", "property 'day' is a date"),
        ("ts", "tomorrow", "property 'ts' is a datetime"),
        ("label", "a\x00b", "NUL"),
    ],
)
def test_property_equals_rejects_bad_values(name: str, raw: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        compile_property_equals(TYPED_FIELDS[name], raw, dialect="duckdb")
    assert fragment in info.value.message
    assert info.value.invalid_params == [{"name": name, "reason": info.value.message}]


# -- sortby ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bu_naam", [("bu_naam", True)]),
        ("+bu_naam,-aant_inw", [("bu_naam", True), ("aant_inw", False)]),
        (" bu_naam", [("bu_naam", True)]),  # '+' unencoded in a query string arrives as a space
        (" -aant_inw , bu_code ", [("aant_inw", False), ("bu_code", True)]),
        ("", []),
    ],
)
def test_parse_sortby(text: str, expected: list[tuple[str, bool]]) -> None:
    assert parse_sortby(text, FIELDS) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("nope", "cannot sort by unknown property 'nope'"),
        ("bu_nam", "did you mean 'bu_naam'?"),
        ("-", "empty sort key"),
        ("bu_naam,,bu_code", "empty sort key"),
        ("bu_naam,-bu_naam", "appears twice"),
        ("geometry", "unknown property 'geometry'"),
        ("bu_naam; DROP TABLE buurten", "unknown property"),
    ],
)
def test_parse_sortby_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_sortby(text, FIELDS)
    assert fragment in info.value.message
    assert info.value.invalid_params[0]["name"] == "sortby"


def test_order_by_sql() -> None:
    assert order_by_sql([]) == ""
    assert order_by_sql([("a", True), ("b", False)]) == "ORDER BY a ASC NULLS LAST, b DESC NULLS LAST"
    with pytest.raises(InvalidInputError):
        order_by_sql([("a; DROP TABLE x", True)])


# -- execution on both stores ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=DIALECTS)
def buurten_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A store of each kind holding the real buurten layer (written once per module)."""

    def opened(url: str) -> Iterator[Store]:
        with open_store(url) as store:
            store.write_layers([LayerData(BUURTEN_SCHEMA, BUURTEN)])
            yield store

    if request.param == "duckdb":
        yield from opened(f"duckdb://{tmp_path_factory.mktemp('cql2') / 'store.duckdb'}")
        return
    with fresh_postgres_schema(postgres_url_or_skip()) as url:
        yield from opened(url)


def selected(store: Store, compiled: SqlFilter, table: str = "buurten", key: str = "bu_code") -> set[Any]:
    rows = store._fetchall(f"SELECT {key} FROM {table} WHERE {compiled.sql}", compiled.params)
    return {row[0] for row in rows}


def run(store: Store, text: str, **options: Any) -> set[str]:
    return selected(store, compile_cql2_text(text, FIELDS, dialect=as_dialect(store.dialect), **options))


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns with pandas' nullable types, so comparisons with missing values give NA (as SQL NULL)."""
    out = pd.DataFrame(index=frame.index)
    for spec in FIELDS:
        text = spec.type == "string"
        out[spec.name] = frame[spec.name].astype("string") if text else frame[spec.name].astype("Float64")
    return out


def codes(mask: pd.Series) -> set[str]:
    """bu_code of the rows where a (three-valued) mask is TRUE."""
    return set(BUURTEN.loc[mask.astype("boolean").fillna(False).to_numpy(bool), "bu_code"])


T = typed(BUURTEN)
G = BUURTEN.geometry

EXECUTION_CASES: list[tuple[str, Callable[[], pd.Series]]] = [
    ("aant_inw > 1000 AND p_65_eo_jr >= 20", lambda: (T.aant_inw > 1000) & (T.p_65_eo_jr >= 20)),
    ("bu_naam LIKE '%straat en omgeving'", lambda: T.bu_naam.str.endswith("straat en omgeving")),
    ("bu_naam LIKE 'Dordtse Kil I_'", lambda: T.bu_naam.isin(["Dordtse Kil II", "Dordtse Kil IV"])),
    ("bu_naam NOT LIKE '%e%'", lambda: ~T.bu_naam.str.contains("e", regex=False)),
    (
        "CASEI(bu_naam) LIKE CASEI('%MERWE%')",
        lambda: T.bu_naam.str.lower().str.contains("merwe", regex=False),
    ),
    ("bu_naam LIKE 'merwe%'", lambda: T.bu_naam.str.startswith("merwe")),
    ("bu_naam = 'Matena''s Pad en omgeving'", lambda: T.bu_naam == "Matena's Pad en omgeving"),
    ("bu_naam LIKE '%''s%'", lambda: T.bu_naam.str.contains("'s", regex=False)),
    (
        "bu_code IN ('BU05050101', 'BU05050102', 'BU99999999')",
        lambda: T.bu_code.isin(["BU05050101", "BU05050102"]),
    ),
    ("wk_code NOT IN ('WK050501', 'WK050502')", lambda: ~T.wk_code.isin(["WK050501", "WK050502"])),
    ("aant_inw BETWEEN 500 AND 1500", lambda: (T.aant_inw >= 500) & (T.aant_inw <= 1500)),
    ("aant_inw NOT BETWEEN 500 AND 1500", lambda: ~((T.aant_inw >= 500) & (T.aant_inw <= 1500))),
    ("p_65_eo_jr IS NULL", lambda: T.p_65_eo_jr.isna()),
    ("p_65_eo_jr IS NOT NULL AND bu_naam IS NOT NULL", lambda: T.p_65_eo_jr.notna() & T.bu_naam.notna()),
    ("NOT (aant_inw > 1000)", lambda: ~(T.aant_inw > 1000)),
    ("NOT p_65_eo_jr > 20 OR p_65_eo_jr IS NULL", lambda: ~(T.p_65_eo_jr > 20) | T.p_65_eo_jr.isna()),
    (
        "gem_hh_gr < 2.0 OR suppressed_fields LIKE '%gem\\_hh\\_gr%'",
        lambda: (T.gem_hh_gr < 2.0) | T.gem_hh_gr.isna(),
    ),
    ("aant_vrouw > aant_man", lambda: T.aant_vrouw > T.aant_man),
    ("aant_inw > 1000.5 AND aant_inw < 1001.5", lambda: (T.aant_inw > 1000.5) & (T.aant_inw < 1001.5)),
    ("aant_inw >= 1000.5", lambda: T.aant_inw >= 1000.5),
    (
        "wk_code = 'WK050501' OR wk_code = 'WK050502' AND aant_inw > 1000",
        lambda: (T.wk_code == "WK050501") | ((T.wk_code == "WK050502") & (T.aant_inw > 1000)),
    ),
    ("bu_naam = '; DROP TABLE buurten; --'", lambda: T.bu_naam == "nothing matches"),
    (f"S_INTERSECTS(geometry, {CENTRE_CRS84})", lambda: G.intersects(CENTRE_RD)),
    ("BBOX(geometry, 4.66, 51.80, 4.68, 51.82)", lambda: G.intersects(CENTRE_RD)),
    ("S_INTERSECTS(geometry, BBOX(4.66, 51.80, 4.68, 51.82))", lambda: G.intersects(CENTRE_RD)),
    (f"S_DISJOINT(geometry, {CENTRE_CRS84})", lambda: G.disjoint(CENTRE_RD)),
    (
        f"NOT S_INTERSECTS(geometry, {CENTRE_CRS84}) AND aant_inw > 1000",
        lambda: G.disjoint(CENTRE_RD) & (T.aant_inw > 1000),
    ),
    ("S_WITHIN(geometry, POLYGON((4.5 51.6, 5.0 51.6, 5.0 51.9, 4.5 51.9, 4.5 51.6)))", lambda: G.notna()),
    ("S_CONTAINS(geometry, POINT(4.67 51.81))", lambda: G.contains(shapely.Point(105_540.24, 424_840.79))),
    ("BBOX(geometry, -180, -90, 180, 90)", lambda: G.notna()),
    ("S_INTERSECTS(geometry, POINT(100 0))", lambda: G.isna()),
    ("S_DISJOINT(geometry, POINT(100 0))", lambda: G.notna()),
]


@pytest.mark.parametrize(
    ("text", "expected"), EXECUTION_CASES, ids=[text[:50] for text, _ in EXECUTION_CASES]
)
def test_filters_select_the_rows_pandas_selects(
    buurten_store: Store, text: str, expected: Callable[[], pd.Series]
) -> None:
    assert run(buurten_store, text) == codes(expected())


def test_spatial_filter_in_rd_matches_crs84_and_geopandas(buurten_store: Store) -> None:
    rd_text = f"S_INTERSECTS(geometry, {shapely.to_wkt(CENTRE_RD, rounding_precision=3)})"
    in_rd = run(buurten_store, rd_text, filter_crs_epsg=28992)
    assert in_rd == codes(G.intersects(CENTRE_RD))
    assert in_rd == run(buurten_store, f"S_INTERSECTS(geometry, {CENTRE_CRS84})")
    assert 5 < len(in_rd) < 130


def test_property_equals_and_combination_on_the_store(buurten_store: Store) -> None:
    dialect = as_dialect(buurten_store.dialect)
    wijk = compile_property_equals(BUURTEN_SCHEMA.field("wk_code"), "WK050501", dialect=dialect)
    people = compile_property_equals(BUURTEN_SCHEMA.field("aant_inw"), "0", dialect=dialect)
    crowded = compile_cql2_text("aant_inw > 500", FIELDS, dialect=dialect)
    assert selected(buurten_store, wijk) == codes(T.wk_code == "WK050501")
    assert selected(buurten_store, people) == codes(T.aant_inw == 0)
    assert selected(buurten_store, combine_and([wijk, crowded])) == codes(
        (T.wk_code == "WK050501") & (T.aant_inw > 500)
    )
    assert selected(buurten_store, combine_and([])) == set(BUURTEN.bu_code)


def test_sortby_orders_alike_in_both_stores(buurten_store: Store) -> None:
    sort = parse_sortby("-p_65_eo_jr,bu_code", FIELDS)
    rows = buurten_store._fetchall(f"SELECT bu_code FROM buurten {order_by_sql(sort)}")
    expected = BUURTEN.sort_values(["p_65_eo_jr", "bu_code"], ascending=[False, True], na_position="last")
    assert [row[0] for row in rows] == expected["bu_code"].tolist()


THINGS_SCHEMA = LayerSchema(
    name="things",
    title="Things",
    description="every column type",
    geometry_type="Point",
    fields=list(TYPED_FIELDS.values()),
    source="test",
    licence="CC0",
    attribution="test",
    primary_key="tid",
)


def things() -> LayerData:
    frame = gpd.GeoDataFrame(
        {
            "tid": [1, 2, 3, 4, 5],
            "label": ["p1", None, "it's", "p4", "P5"],
            "value": [0.5, 1.5, None, 2.5, 3.5],
            "flag": [True, False, True, False, True],
            "day": pd.to_datetime([dt.date(2020, 1, d) for d in range(1, 6)]),
            "ts": pd.to_datetime([dt.datetime(2020, 1, d, 12) for d in range(1, 6)]),
        },
        geometry=[shapely.Point(105_000 + 100 * i, 423_000) for i in range(5)],
        crs=28992,
    )
    return LayerData(THINGS_SCHEMA, frame)


def test_every_column_type_on_both_stores(store: Store) -> None:
    store.write_layers([things()])
    fields = THINGS_SCHEMA.fields
    dialect = as_dialect(store.dialect)

    def ids(text: str, **options: Any) -> set[int]:
        compiled = compile_cql2_text(text, fields, dialect=dialect, **options)
        return selected(store, compiled, "things", "tid")

    def equal(name: str, raw: str) -> set[int]:
        compiled = compile_property_equals(TYPED_FIELDS[name], raw, dialect=dialect)
        return selected(store, compiled, "things", "tid")

    assert ids("flag = TRUE") == {1, 3, 5}
    assert ids("flag <> TRUE") == {2, 4}
    assert ids("day >= DATE('2020-01-03')") == {3, 4, 5}
    assert ids("day = '2020-01-02'") == {2}
    assert ids("day BETWEEN '2020-01-02' AND DATE('2020-01-03')") == {2, 3}
    assert ids("ts < TIMESTAMP('2020-01-02T12:00:01Z')") == {1, 2}
    assert ids("ts >= DATE('2020-01-04')") == {4, 5}
    assert ids("ts IN (TIMESTAMP('2020-01-03T13:00:00+01:00'))") == {3}
    assert ids("value > 1 AND label IS NOT NULL") == {4, 5}
    assert ids("value < tid") == {1, 2, 4, 5}
    assert ids("label = 'it''s'") == {3}
    assert ids("CASEI(label) IN (CASEI('P1'), 'p5')") == {1, 5}
    assert ids("S_INTERSECTS(geometry, POINT(105100 423000))", filter_crs_epsg=28992) == {2}
    assert ids("BBOX(geometry, 105150, 422000, 106000, 424000, 'EPSG:28992')") == {3, 4, 5}
    assert equal("flag", "false") == {2, 4}
    assert equal("day", "2020-01-02") == {2}
    assert equal("ts", "2020-01-03T12:00:00") == {3}
    assert equal("value", "2.5") == {4}
    assert equal("tid", "3") == {3}
    assert equal("label", "it's") == {3}


# -- fuzzing -------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_invalid_input(text: str) -> None:
    for dialect in DIALECTS:
        try:
            compile_text(text, dialect)
        except InvalidInputError as error:
            assert error.invalid_params and error.invalid_params[0]["name"] == "filter"


TOKENS = [
    "aant_inw", "bu_naam", "gem_hh_gr", "geometry", '"bu_code"', "x", "=", "<>", "<", ">=", "AND", "OR",
    "NOT",
    "(", ")", ",", "LIKE", "IN", "BETWEEN", "IS", "NULL", "TRUE", "1", "-2.5", "1e400", "'a'", "'O''Brien'",
    "'%'", "'", "CASEI", "DATE('2020-01-01')", "TIMESTAMP('2020-01-01T00:00:00Z')", "POINT(4.67 51.81)",
    CENTRE_CRS84, "POINT(105000 424000)", "BBOX", "S_INTERSECTS", "S_WITHIN", "S_CROSSES",
    "ENVELOPE(4 5 51 52)", "INCLUDE", "+", "*", "T_BEFORE", "'; DROP TABLE buurten; --", "SRID=4326;",
]  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join))
def test_token_soup_compiles_to_sql_the_store_runs_or_is_rejected(buurten_store: Store, text: str) -> None:
    try:
        compiled = compile_text(text, buurten_store.dialect)
    except InvalidInputError:
        return
    selected(buurten_store, compiled)  # whatever compiles must run


# Random well-formed filters, each with the same condition evaluated in pandas/geopandas (Kleene logic).
Oracle = Callable[[], pd.Series]
Case = tuple[str, Oracle]
NUMERIC = ["aant_inw", "aant_man", "aant_vrouw", "p_65_eo_jr", "gem_hh_gr", "bev_dichth", "opp_tot"]
TEXT = ["bu_code", "bu_naam", "wk_naam", "postcode", "suppressed_fields"]
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
MIRROR = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
SPATIAL = {  # CQL2 name -> (GeoSeries method with the layer first, method with the literal first)
    "S_INTERSECTS": ("intersects", "intersects"),
    "S_DISJOINT": ("disjoint", "disjoint"),
    "S_WITHIN": ("within", "contains"),
    "S_CONTAINS": ("contains", "within"),
    "S_TOUCHES": ("touches", "touches"),
    "S_OVERLAPS": ("overlaps", "overlaps"),
    "S_CROSSES": ("crosses", "crosses"),
}
SAFE_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
numbers = st.one_of(
    st.integers(-10, 25_000),
    st.floats(-10, 25_000, allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 5, 20, 1000, 2.3, 1500]),
)
texts = st.one_of(
    st.sampled_from(sorted(set(BUURTEN.bu_naam.dropna()) | set(BUURTEN.bu_code)) + NASTY),
    st.text(SAFE_CHARS, max_size=12),
)


def cql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def like(value: str, pattern: str) -> bool:
    """CQL2 LIKE, written independently of the compiler (dynamic programming, no regex backtracking)."""
    tokens: list[str | None] = []  # None: '%', '': '_', else one literal character
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in ("%", "_", "\\"):
            tokens.append(pattern[index + 1])
            index += 2
            continue
        tokens.append(None if char == "%" else "" if char == "_" else char)
        index += 1
    reachable = {0}  # positions in value reachable after the tokens so far
    for token in tokens:
        if token is None:
            reachable = set(range(min(reachable), len(value) + 1)) if reachable else set()
        else:
            reachable = {i + 1 for i in reachable if i < len(value) and (token == "" or value[i] == token)}
    return len(value) in reachable


def matches(series: pd.Series, pattern: str) -> pd.Series:
    return series.map(lambda v: pd.NA if pd.isna(v) else like(v, pattern)).astype("boolean")


@st.composite
def number_leaves(draw: st.DrawFn) -> Case:
    name, op, value = draw(st.sampled_from(NUMERIC)), draw(st.sampled_from(list(OPS))), draw(numbers)
    if draw(st.booleans()):
        return f"{value!r} {op} {name}", lambda: OPS[MIRROR[op]](T[name], value)
    return f"{name} {op} {value!r}", lambda: OPS[op](T[name], value)


@st.composite
def text_leaves(draw: st.DrawFn) -> Case:
    name, op, value = draw(st.sampled_from(TEXT)), draw(st.sampled_from(list(OPS))), draw(texts)
    if draw(st.booleans()):
        text = f"CASEI({name}) {op} CASEI({cql_string(value)})"
        return text, lambda: OPS[op](T[name].str.lower(), value.lower())
    return f"{name} {op} {cql_string(value)}", lambda: OPS[op](T[name], value)


@st.composite
def property_leaves(draw: st.DrawFn) -> Case:
    left, right = draw(st.sampled_from(NUMERIC)), draw(st.sampled_from(NUMERIC))
    op = draw(st.sampled_from(list(OPS)))
    return f"{left} {op} {right}", lambda: OPS[op](T[left], T[right])


@st.composite
def like_leaves(draw: st.DrawFn) -> Case:
    name, negate, base = draw(st.sampled_from(TEXT)), draw(st.booleans()), draw(texts)
    wild = [draw(st.sampled_from([c, "%", "_"])) if draw(st.booleans()) else c for c in base]
    pattern = "".join(wild) + draw(st.sampled_from(["", "%", "\\%", "\\_", "\\\\", "\\"]))
    keyword = "NOT LIKE" if negate else "LIKE"
    casei = draw(st.booleans()) and pattern.isascii()
    if casei:
        text = f"CASEI({name}) {keyword} CASEI({cql_string(pattern)})"
    else:
        text = f"{name} {keyword} {cql_string(pattern)}"

    def oracle() -> pd.Series:
        found = matches(T[name].str.lower(), pattern.lower()) if casei else matches(T[name], pattern)
        return ~found if negate else found

    return text, oracle


@st.composite
def in_leaves(draw: st.DrawFn) -> Case:
    negate = draw(st.booleans())
    items: list[Any]
    if draw(st.booleans()):
        name, items = draw(st.sampled_from(NUMERIC)), draw(st.lists(numbers, min_size=1, max_size=4))
        rendered = ", ".join(repr(v) for v in items)
    else:
        name, items = draw(st.sampled_from(TEXT)), draw(st.lists(texts, min_size=1, max_size=4))
        rendered = ", ".join(cql_string(v) for v in items)

    def oracle() -> pd.Series:
        found = T[name].isin(items).astype("boolean").where(T[name].notna())
        return ~found if negate else found

    return f"{name} {'NOT IN' if negate else 'IN'} ({rendered})", oracle


@st.composite
def between_leaves(draw: st.DrawFn) -> Case:
    name, negate = draw(st.sampled_from(NUMERIC)), draw(st.booleans())
    low, high = draw(numbers), draw(numbers)

    def oracle() -> pd.Series:
        inside = (T[name] >= low) & (T[name] <= high)
        return ~inside if negate else inside

    return f"{name} {'NOT BETWEEN' if negate else 'BETWEEN'} {low!r} AND {high!r}", oracle


@st.composite
def null_leaves(draw: st.DrawFn) -> Case:
    name, negate = draw(st.sampled_from(NUMERIC + TEXT)), draw(st.booleans())
    return f"{name} IS {'NOT ' if negate else ''}NULL", lambda: T[name].notna() if negate else T[name].isna()


@st.composite
def spatial_leaves(draw: st.DrawFn) -> Case:
    """A spatial predicate in RD coordinates (compiled with filter_crs_epsg=28992): an exact oracle."""
    x, y = draw(st.floats(101_000, 121_000)), draw(st.floats(413_000, 427_000))
    width, height = draw(st.floats(1, 6_000)), draw(st.floats(1, 6_000))
    point = draw(st.booleans())
    literal = shapely.Point(x, y) if point else shapely.box(x, y, x + width, y + height)
    name = draw(st.sampled_from(sorted(SPATIAL)))
    wkt = shapely.to_wkt(literal, rounding_precision=-1)
    if draw(st.booleans()):
        return f"{name}(geometry, {wkt})", lambda: getattr(G, SPATIAL[name][0])(literal)
    return f"{name}({wkt}, geometry)", lambda: getattr(G, SPATIAL[name][1])(literal)


leaves = st.one_of(
    number_leaves(),
    text_leaves(),
    property_leaves(),
    like_leaves(),
    in_leaves(),
    between_leaves(),
    null_leaves(),
    spatial_leaves(),
)


def as_bool(series: pd.Series) -> pd.Series:
    return series.astype("boolean")


def join(cases: list[Case], keyword: str) -> Case:
    combine = operator.and_ if keyword == "AND" else operator.or_
    text = "(" + f" {keyword} ".join(text for text, _ in cases) + ")"
    return text, lambda: reduce(combine, [as_bool(oracle()) for _, oracle in cases])


def negation(case: Case, parenthesised: bool) -> Case:
    text, oracle = case
    return (f"NOT ({text})" if parenthesised else f"NOT {text}"), lambda: ~as_bool(oracle())


def precedence(cases: tuple[Case, Case, Case], or_first: bool) -> Case:
    (a, fa), (b, fb), (c, fc) = cases
    if or_first:  # a OR b AND c  ==  a OR (b AND c)
        return f"({a} OR {b} AND {c})", lambda: as_bool(fa()) | (as_bool(fb()) & as_bool(fc()))
    return f"({a} AND {b} OR {c})", lambda: (as_bool(fa()) & as_bool(fb())) | as_bool(fc())


def extend(children: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    return st.one_of(
        st.builds(join, st.lists(children, min_size=2, max_size=3), st.sampled_from(["AND", "OR"])),
        st.builds(negation, children, st.booleans()),
        st.builds(precedence, st.tuples(children, children, children), st.booleans()),
    )


filters = st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters)
def test_generated_filters_match_pandas_and_leave_the_table_alone(buurten_store: Store, case: Case) -> None:
    text, oracle = case
    dialect = as_dialect(buurten_store.dialect)
    compiled = compile_cql2_text(text, FIELDS, dialect=dialect, filter_crs_epsg=28992)
    assert selected(buurten_store, compiled) == codes(oracle()), text
    assert buurten_store._fetchall("SELECT count(*) FROM buurten")[0][0] == 130
    assert buurten_store.has_layer("buurten")
