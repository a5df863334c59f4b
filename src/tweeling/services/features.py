"""OGC API – Features services: collections, queryables, items and single features.

Plain functions over a Store, used by the HTTP routers (and usable from tests or batch
jobs). Query parameters arrive as the client sent them (strings) and are validated
here, so every adapter gives the same answers and the same errors. Filters become
parameterised SQL through ``tweeling.store.cql2``; no client text reaches SQL text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import shapely

from tweeling.core.crs import (
    CRS84_URI,
    STORE_EPSG,
    SUPPORTED_CRS,
    OutputCrs,
    bbox_to_wgs84,
    output_crs,
    transform_coordinates,
    transformer,
)
from tweeling.core.errors import InvalidInputError, NotFoundError
from tweeling.core.schema import FieldSpec, LayerSchema
from tweeling.governance.catalogue import shipped_catalogue
from tweeling.governance.disclosure import with_provenance
from tweeling.store import LayerInfo, Store
from tweeling.store.base import Bbox
from tweeling.store.cql2 import (
    SqlFilter,
    as_dialect,
    compile_cql2_text,
    compile_property_equals,
    parse_sortby,
)

DEFAULT_LIMIT = 100
"""Features per page when the client gives no ``limit``."""
MAX_LIMIT = 10_000
"""Largest ``limit`` accepted; larger values are refused with 400 (not silently capped)."""

STANDARD_ITEM_PARAMS = frozenset(
    {
        "f",
        "limit",
        "offset",
        "bbox",
        "bbox-crs",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "sortby",
        "crs",
    }
)

_RD_OUTPUT = SUPPORTED_CRS["http://www.opengis.net/def/crs/EPSG/0/28992"]

_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_GEOMETRY_FORMATS = {
    "Point": "geometry-point",
    "MultiPoint": "geometry-multipoint",
    "LineString": "geometry-linestring",
    "MultiLineString": "geometry-multilinestring",
    "Polygon": "geometry-polygon",
    "MultiPolygon": "geometry-multipolygon",
}


def _invalid(name: str, reason: str) -> InvalidInputError:
    return InvalidInputError(reason, invalid_params=[{"name": name, "reason": reason}])


# -- collections -----------------------------------------------------------------------


@dataclass
class Collection:
    """What a client needs to know about one layer before reading it."""

    info: LayerInfo
    bbox_crs84: tuple[float, float, float, float] | None
    temporal_interval: tuple[str | None, str | None] | None

    @property
    def id(self) -> str:
        """Collection id = layer name."""
        return self.info.name

    @property
    def schema(self) -> LayerSchema:
        """The layer schema."""
        return self.info.schema


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=value.tzinfo or dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return (
            dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
        )
    return str(value)


def visible_layer(info: LayerInfo, hidden: Iterable[str] = ()) -> LayerInfo:
    """``info`` without the fields a principal may not see (``hidden``, with their provenance columns).

    Every later step (selected columns, filters, sorting, queryables, HTML) works from this
    schema, so a hidden field is an unknown property: never read, never filtered or sorted on.
    The primary key stays (feature ids are not personal data).
    """
    names = with_provenance(info.schema.field_names, hidden) - {info.schema.primary_key}
    if not names:
        return info
    fields = [spec for spec in info.schema.fields if spec.name not in names]
    temporal = info.schema.temporal_field if info.schema.temporal_field not in names else None
    schema = info.schema.model_copy(update={"fields": fields, "temporal_field": temporal})
    return dataclasses.replace(info, schema=schema)


def describe_collection(store: Store, name: str, hidden: Iterable[str] = ()) -> Collection:
    """One collection (without the ``hidden`` fields); NotFoundError naming the known collections."""
    info = visible_layer(store.layer(name), hidden)
    bbox = bbox_to_wgs84(info.extent) if info.extent else None
    interval = None
    if info.schema.temporal_field:
        low, high = store.value_range(name, info.schema.temporal_field)
        interval = (_iso(low), _iso(high))
    return Collection(info, bbox, interval)


def list_collections(
    store: Store, hidden_of: Callable[[str], Iterable[str]] | None = None
) -> list[Collection]:
    """Every layer as a collection (``hidden_of(layer)``: fields the caller may not see)."""
    return [
        describe_collection(store, info.name, hidden_of(info.name) if hidden_of else ())
        for info in store.list_layers()
    ]


def catalogue_links(base: str, collection_id: str) -> list[dict[str, str]]:
    """The ``describedby`` link from a collection to its dataset catalogue entry; none for a layer
    the catalogue does not describe (one a user imported)."""
    if not shipped_catalogue().has(collection_id):
        return []
    return [
        {
            "rel": "describedby",
            "type": "application/json",
            "title": "Catalogue entry",
            "href": f"{base}/catalogue/{collection_id}",
        }
    ]


def queryables(store: Store, name: str, hidden: Iterable[str] = ()) -> dict[str, Any]:
    """JSON Schema of the properties a filter may use, with units and estimation flags."""
    info = visible_layer(store.layer(name), hidden)
    properties: dict[str, Any] = {}
    if info.geometry_type:
        properties["geometry"] = {
            "title": "Geometry",
            "format": _GEOMETRY_FORMATS.get(info.geometry_type, "geometry-any"),
        }
    for spec in info.schema.fields:
        properties[spec.name] = _queryable(spec)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": info.title,
        "properties": properties,
        "additionalProperties": False,
    }


def _queryable(spec: FieldSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"title": spec.name, "description": spec.description}
    if spec.type in _JSON_TYPES:
        entry["type"] = _JSON_TYPES[spec.type]
    else:
        entry["type"] = "string"
        entry["format"] = "date" if spec.type == "date" else "date-time"
    if spec.unit:
        entry["x-unit"] = spec.unit
    if spec.source:
        entry["x-source"] = spec.source
    entry["x-estimated"] = spec.estimated
    if spec.estimated and spec.method:
        entry["x-method"] = spec.method
    return entry


# -- items -----------------------------------------------------------------------------


@dataclass
class ItemsRequest:
    """An items query as the client sent it (strings, unvalidated)."""

    collection: str
    limit: str | None = None
    offset: str | None = None
    bbox: str | None = None
    bbox_crs: str | None = None
    datetime: str | None = None
    filter: str | None = None
    filter_lang: str | None = None
    filter_crs: str | None = None
    sortby: str | None = None
    crs: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class FeaturePage:
    """One page of features, ready to serialise (geometry already GeoJSON text)."""

    collection: Collection
    features: list[dict[str, Any]]
    number_matched: int
    limit: int
    offset: int
    crs: OutputCrs

    @property
    def number_returned(self) -> int:
        """Features on this page."""
        return len(self.features)


def _int_param(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, f"{name} must be an integer between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise _invalid(name, f"{name} must be between {low} and {high}, got {value}")
    return value


def _crs_param(name: str, raw: str | None) -> OutputCrs:
    crs = output_crs(raw)
    if crs is None:
        allowed = ", ".join(SUPPORTED_CRS)
        raise _invalid(name, f"unsupported {name} {raw!r}; supported: {allowed}")
    return crs


def parse_bbox(raw: str, crs: OutputCrs) -> Bbox:
    """A ``bbox`` parameter (4 or 6 numbers, in ``crs``) as an envelope in EPSG:28992."""
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise _invalid("bbox", f"bbox must be 4 (or 6) comma-separated numbers, got {raw!r}") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(np.isfinite(numbers)):
        raise _invalid("bbox", f"bbox must be 4 (or 6) comma-separated numbers, got {raw!r}")
    if crs.lat_first:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    minx, miny, maxx, maxy = numbers
    if minx > maxx or miny > maxy:
        raise _invalid("bbox", f"bbox {raw!r} must be minx,miny,maxx,maxy with min <= max")
    if crs.epsg == 4326 and not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise _invalid("bbox", f"bbox {raw!r} is outside longitude -180..180 / latitude -90..90")
    if crs.epsg == STORE_EPSG:
        return minx, miny, maxx, maxy
    bounds = transformer(crs.epsg, STORE_EPSG).transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
    if not all(np.isfinite(bounds)):
        raise _invalid("bbox", f"bbox {raw!r} cannot be transformed to the store CRS")
    return float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])


def bbox_polygon_filter(raw: str, crs: OutputCrs, info: LayerInfo, dialect: str) -> SqlFilter | None:
    """For a bbox not in the store CRS, the exact rectangle (densified, transformed) as a condition.

    A lon/lat rectangle is not a rectangle in RD New; the store's envelope query (on the
    transformed bounds) only pre-selects, this condition keeps what meets the rectangle itself.
    """
    if crs.epsg == STORE_EPSG:
        return None
    corners = [float(p) for p in raw.split(",")]
    if len(corners) == 6:
        corners = [corners[0], corners[1], corners[3], corners[4]]
    if crs.lat_first:
        corners = [corners[1], corners[0], corners[3], corners[2]]
    if corners[0] == corners[2] or corners[1] == corners[3]:
        return None  # a point or line: the store's envelope query is already exact
    rectangle = shapely.segmentize(
        shapely.box(*corners),
        max_segment_length=max((corners[2] - corners[0]) / 20, (corners[3] - corners[1]) / 20, 1e-9),
    )
    projected = shapely.transform(rectangle, lambda xy: transform_coordinates(xy, crs.epsg, _RD_OUTPUT))
    text = f"S_INTERSECTS(geometry, {shapely.to_wkt(projected, rounding_precision=3)})"
    return compile_cql2_text(
        text, info.schema.fields, dialect=as_dialect(dialect), filter_crs_epsg=STORE_EPSG
    )


def _parse_instant(text: str, name: str) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(
            name, f"datetime must be an RFC 3339 instant or interval (a/b, ../b, a/..), got {text!r}"
        ) from None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def datetime_filter(raw: str, info: LayerInfo, dialect: str) -> SqlFilter:
    """The ``datetime`` parameter as a condition on the layer's temporal field."""
    column = info.schema.temporal_field
    if column is None:
        raise _invalid("datetime", f"collection {info.name!r} has no time; datetime does not apply")
    start_text, _, end_text = raw.partition("/") if "/" in raw else (raw, "", raw)
    start, end = _parse_instant(start_text, "datetime"), _parse_instant(end_text, "datetime")
    if start is None and end is None:
        raise _invalid("datetime", "datetime interval '../..' has no bounds")
    if start and end and start > end:
        raise _invalid("datetime", f"datetime interval {raw!r} ends before it starts")
    mark = "?" if dialect == "duckdb" else "%s"
    is_date = info.schema.field(column).type == "date"
    parts, params = [], []
    if start is not None:
        parts.append(f"{column} >= {mark}")
        params.append(start.date() if is_date else start)
    if end is not None:
        parts.append(f"{column} <= {mark}")
        params.append(end.date() if is_date else end)
    return SqlFilter(" AND ".join(parts), params)


def _conditions(request: ItemsRequest, info: LayerInfo, dialect: str) -> list[SqlFilter]:
    fields = info.schema.fields
    conditions: list[SqlFilter] = []
    names = set(info.schema.field_names)
    unknown = sorted(set(request.properties) - names)
    if unknown:
        allowed = ", ".join(sorted(STANDARD_ITEM_PARAMS | names))
        raise InvalidInputError(
            f"unknown query parameter(s) {', '.join(unknown)}; allowed: {allowed}",
            invalid_params=[{"name": n, "reason": "unknown parameter"} for n in unknown],
        )
    by_name = {spec.name: spec for spec in fields}
    for name, raw in request.properties.items():
        conditions.append(compile_property_equals(by_name[name], raw, dialect=as_dialect(dialect)))
    if request.datetime:
        conditions.append(datetime_filter(request.datetime, info, dialect))
    if request.filter:
        if request.filter_lang not in (None, "", "cql2-text"):
            raise _invalid(
                "filter-lang", f"unsupported filter-lang {request.filter_lang!r}; supported: cql2-text"
            )
        filter_crs = _crs_param("filter-crs", request.filter_crs)
        if filter_crs.lat_first:
            raise _invalid("filter-crs", "filter-crs must be CRS84 or EPSG:28992 (x/y axis order)")
        conditions.append(
            compile_cql2_text(
                request.filter,
                fields,
                dialect=as_dialect(dialect),
                has_geometry=info.geometry_type is not None,
                filter_crs_epsg=None if filter_crs.uri == CRS84_URI else filter_crs.epsg,
            )
        )
    return conditions


def get_items(store: Store, request: ItemsRequest, hidden: Iterable[str] = ()) -> FeaturePage:
    """One page of a collection's features matching the request's bbox, datetime and filters.

    ``hidden`` fields are not read, and filters or sorting on them fail as unknown properties.
    """
    collection = describe_collection(store, request.collection, hidden)
    info = collection.info
    limit = _int_param("limit", request.limit, DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param("offset", request.offset, 0, 0, 10**9)
    crs = _crs_param("crs", request.crs)
    bbox = None
    exact: SqlFilter | None = None
    if request.bbox:
        if info.geometry_type is None:
            raise _invalid("bbox", f"collection {info.name!r} has no geometry; bbox does not apply")
        bbox_crs = _crs_param("bbox-crs", request.bbox_crs)
        bbox = parse_bbox(request.bbox, bbox_crs)
        exact = bbox_polygon_filter(request.bbox, bbox_crs, info, store.dialect)
    elif request.bbox_crs:
        _crs_param("bbox-crs", request.bbox_crs)
    conditions = _conditions(request, info, store.dialect)
    if bbox is not None and exact is not None:
        conditions.append(exact)
    order = parse_sortby(request.sortby, info.schema.fields) if request.sortby else None
    if order is not None and info.schema.primary_key and all(c != info.schema.primary_key for c, _ in order):
        order = [*order, (info.schema.primary_key, True)]
    matched = store.count(info.name, bbox=bbox, where=conditions)
    names, rows = store.select_rows(
        info.name,
        columns=info.schema.field_names,
        bbox=bbox,
        where=conditions,
        order_by=order,
        limit=limit,
        offset=offset,
    )
    return FeaturePage(collection, to_features(info, names, rows, crs, offset), matched, limit, offset, crs)


def get_item(
    store: Store,
    collection: str,
    feature_id: str,
    crs_param: str | None = None,
    hidden: Iterable[str] = (),
) -> tuple[Collection, dict[str, Any], OutputCrs]:
    """One feature by id (the layer's primary key, without ``hidden`` fields); NotFoundError when
    there is none."""
    described = describe_collection(store, collection, hidden)
    info = described.info
    crs = _crs_param("crs", crs_param)
    key = info.schema.primary_key
    if key is None:
        raise NotFoundError(f"collection {collection!r} has no feature ids")
    try:
        condition = compile_property_equals(
            info.schema.field(key), feature_id, dialect=as_dialect(store.dialect)
        )
    except InvalidInputError:
        raise NotFoundError(f"no feature {feature_id!r} in collection {collection!r}") from None
    names, rows = store.select_rows(info.name, columns=info.schema.field_names, where=[condition], limit=1)
    if not rows:
        raise NotFoundError(f"no feature {feature_id!r} in collection {collection!r}")
    return described, to_features(info, names, rows, crs, 0)[0], crs


def to_features(
    info: LayerInfo, names: Sequence[str], rows: Sequence[tuple[Any, ...]], crs: OutputCrs, offset: int
) -> list[dict[str, Any]]:
    """GeoJSON features (dicts; geometry as pre-serialised JSON) from store rows."""
    has_geometry = info.geometry_type is not None
    property_names = list(names[:-1]) if has_geometry else list(names)
    geometries: list[Any] = [None] * len(rows)
    if has_geometry and rows:
        shapes = shapely.from_wkb([None if row[-1] is None else bytes(row[-1]) for row in rows])
        shapes = shapely.transform(shapes, lambda xy: transform_coordinates(xy, STORE_EPSG, crs))
        geometries = [None if g is None else orjson.Fragment(g) for g in shapely.to_geojson(shapes)]
    key = info.schema.primary_key
    key_index = property_names.index(key) if key in property_names else None
    features = []
    for index, row in enumerate(rows):
        properties = dict(zip(property_names, row, strict=False))
        feature_id = row[key_index] if key_index is not None else offset + index + 1
        features.append(
            {
                "type": "Feature",
                "id": _json_id(feature_id),
                "geometry": geometries[index],
                "properties": properties,
            }
        )
    return features


def _json_id(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def feature_collection(page: FeaturePage, links: list[dict[str, Any]], timestamp: str) -> dict[str, Any]:
    """The GeoJSON FeatureCollection document of a page."""
    return {
        "type": "FeatureCollection",
        "features": page.features,
        "numberMatched": page.number_matched,
        "numberReturned": page.number_returned,
        "timeStamp": timestamp,
        "links": links,
    }


def dumps(document: Mapping[str, Any]) -> bytes:
    """Serialise a response document (numpy scalars, dates and pre-serialised geometry allowed)."""
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC)
