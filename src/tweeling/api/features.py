"""OGC API – Features routes (Part 1 core, Part 2 CRS, Part 3 filtering) under ``/v1``.

Thin: each route reads the request, calls a service function in
``tweeling.services.features`` and serialises the result as JSON/GeoJSON or HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from tweeling.api import html
from tweeling.api.access import collection_classification, principal_of, requires
from tweeling.api.processes import PROCESSES_CONFORMANCE
from tweeling.core.crs import CRS84_URI, SUPPORTED_CRS, OutputCrs
from tweeling.core.errors import InvalidInputError
from tweeling.governance.roles import Action
from tweeling.services import features as service
from tweeling.services.status import StoreHandle

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    *PROCESSES_CONFORMANCE,
]

FParam = Annotated[
    str | None, Query(description="Output format: json (default) or html.", pattern="^(json|html)$")
]
CollectionId = Annotated[str, Path(description="Collection (layer) id, e.g. buildings.")]


def wants_html(request: Request, f: str | None) -> bool:
    """``f`` decides; without it, a browser's Accept header (text/html before JSON) does."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    html_at, json_at = accept.find("text/html"), max(accept.find("json"), -1)
    return html_at >= 0 and (json_at < 0 or html_at < json_at)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _link(href: str, rel: str, media: str, title: str | None = None) -> dict[str, Any]:
    link = {"href": href, "rel": rel, "type": media}
    if title:
        link["title"] = title
    return link


def _json(document: dict[str, Any], media: str = JSON, headers: dict[str, str] | None = None) -> Response:
    return Response(service.dumps(document), media_type=media, headers=headers)


def _content_crs(crs: OutputCrs) -> dict[str, str]:
    return {"Content-Crs": f"<{crs.uri}>"}


def hidden_fields(request: Request, collection_id: str) -> frozenset[str]:
    """Fields of ``collection_id`` the caller may not see (personal or confidential data); empty in
    an app without governance."""
    governance = getattr(request.app.state, "governance", None)
    if governance is None:
        return frozenset()
    hidden: frozenset[str] = governance.hidden_fields(collection_id, principal_of(request))
    return hidden


def build_router(handle: StoreHandle, base_path: str) -> APIRouter:
    """The features routes, reading the store through ``handle``."""
    router = APIRouter(prefix=base_path, tags=["OGC API – Features"])

    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/") + base_path

    def collection_document(item: service.Collection, base: str) -> dict[str, Any]:
        href = f"{base}/collections/{item.id}"
        extent: dict[str, Any] = {}
        if item.bbox_crs84:
            extent["spatial"] = {"bbox": [list(item.bbox_crs84)], "crs": CRS84_URI}
        if item.temporal_interval:
            extent["temporal"] = {
                "interval": [list(item.temporal_interval)],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }
        schema = item.schema
        return {
            "id": item.id,
            "title": item.info.title,
            "description": schema.description,
            "itemType": "feature",
            "extent": extent,
            "crs": list(SUPPORTED_CRS),
            "storageCrs": "http://www.opengis.net/def/crs/EPSG/0/28992",
            "links": [
                _link(href, "self", JSON, "This collection"),
                _link(f"{href}?f=html", "alternate", HTML, "This collection as HTML"),
                _link(f"{href}/items", "items", GEOJSON, "Features as GeoJSON"),
                _link(f"{href}/items?f=html", "items", HTML, "Features as HTML"),
                _link(
                    f"{href}/queryables",
                    "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                    "application/schema+json",
                    "Queryable properties",
                ),
                *service.catalogue_links(base, item.id),
            ],
            "x-feature-count": item.info.feature_count,
            "x-source": schema.source,
            "x-licence": schema.licence,
            "x-attribution": schema.attribution,
            "x-estimated-fields": schema.estimated_fields,
        }

    @router.get("/conformance", summary="Conformance classes")
    @requires(Action.READ)
    def conformance(request: Request, f: FParam = None) -> Response:
        if wants_html(request, f):
            return HTMLResponse(html.conformance(CONFORMANCE, base_url(request)))
        return _json({"conformsTo": CONFORMANCE})

    @router.get("/collections", summary="Collections (the layers of the twin)")
    @requires(Action.READ)
    def collections(request: Request, f: FParam = None) -> Response:
        base = base_url(request)
        with handle.use() as store:
            items = service.list_collections(store, lambda name: hidden_fields(request, name))
        if wants_html(request, f):
            return HTMLResponse(html.collections(items, base))
        return _json(
            {
                "links": [
                    _link(f"{base}/collections", "self", JSON, "Collections"),
                    _link(f"{base}/collections?f=html", "alternate", HTML, "Collections as HTML"),
                ],
                "collections": [collection_document(item, base) for item in items],
            }
        )

    @router.get("/collections/{collection_id}", summary="One collection")
    @requires(Action.READ, collection_classification)
    def collection(request: Request, collection_id: CollectionId, f: FParam = None) -> Response:
        base = base_url(request)
        with handle.use() as store:
            item = service.describe_collection(store, collection_id, hidden_fields(request, collection_id))
        if wants_html(request, f):
            return HTMLResponse(html.collection(item, base))
        return _json(collection_document(item, base))

    @router.get("/collections/{collection_id}/queryables", summary="Queryable properties (JSON Schema)")
    @requires(Action.READ, collection_classification)
    def queryables(request: Request, collection_id: CollectionId) -> Response:
        with handle.use() as store:
            document = service.queryables(store, collection_id, hidden_fields(request, collection_id))
        document["$id"] = f"{base_url(request)}/collections/{collection_id}/queryables"
        return _json(document, "application/schema+json")

    @router.get("/collections/{collection_id}/items", summary="Features of a collection")
    @requires(Action.READ, collection_classification)
    def items(
        request: Request,
        collection_id: CollectionId,
        f: FParam = None,
        limit: Annotated[
            int,
            Query(
                ge=1,
                le=service.MAX_LIMIT,
                description=f"Features per page (default {service.DEFAULT_LIMIT}, "
                f"maximum {service.MAX_LIMIT}).",
            ),
        ] = service.DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, description="Features to skip (paging).")] = 0,
        bbox: Annotated[
            str | None, Query(description="minx,miny,maxx,maxy in bbox-crs (default CRS84).")
        ] = None,
        bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS of bbox.")] = None,
        datetime: Annotated[
            str | None, Query(description="Instant or interval (a/b, ../b, a/..), RFC 3339.")
        ] = None,
        filter: Annotated[str | None, Query(description="CQL2-text filter expression.")] = None,
        filter_lang: Annotated[str | None, Query(alias="filter-lang", description="cql2-text")] = None,
        filter_crs: Annotated[
            str | None, Query(alias="filter-crs", description="CRS of filter geometries.")
        ] = None,
        sortby: Annotated[
            str | None, Query(description="Comma-separated properties, - for descending.")
        ] = None,
        crs: Annotated[str | None, Query(description="Output CRS (default CRS84).")] = None,
    ) -> Response:
        properties = {
            key: value
            for key, value in request.query_params.items()
            if key not in service.STANDARD_ITEM_PARAMS
        }
        query = service.ItemsRequest(
            collection_id,
            str(limit),
            str(offset),
            bbox,
            bbox_crs,
            datetime,
            filter,
            filter_lang,
            filter_crs,
            sortby,
            crs,
            properties,
        )
        with handle.use() as store:
            page = service.get_items(store, query, hidden_fields(request, collection_id))
        links = _page_links(request, page)
        if wants_html(request, f):
            return HTMLResponse(html.items(page, links, base_url(request)), headers=_content_crs(page.crs))
        return _json(service.feature_collection(page, links, _now()), GEOJSON, _content_crs(page.crs))

    @router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
    @requires(Action.READ, collection_classification)
    def item(
        request: Request,
        collection_id: CollectionId,
        feature_id: Annotated[str, Path(description="Feature id (the layer's primary key).")],
        f: FParam = None,
        crs: Annotated[str | None, Query(description="Output CRS (default CRS84).")] = None,
    ) -> Response:
        unknown = sorted(set(request.query_params) - {"f", "crs"})
        if unknown:
            raise InvalidInputError(f"unknown query parameter(s) {', '.join(unknown)}; allowed: f, crs")
        with handle.use() as store:
            described, feature, output = service.get_item(
                store, collection_id, feature_id, crs, hidden_fields(request, collection_id)
            )
        base = base_url(request)
        if wants_html(request, f):
            return HTMLResponse(html.item(described, feature, base), headers=_content_crs(output))
        href = f"{base}/collections/{collection_id}"
        feature["links"] = [
            _link(str(request.url), "self", GEOJSON, "This feature"),
            _link(f"{href}/items/{feature_id}?f=html", "alternate", HTML, "This feature as HTML"),
            _link(href, "collection", JSON, "The collection"),
        ]
        return _json(feature, GEOJSON, _content_crs(output))

    return router


def _page_links(request: Request, page: service.FeaturePage) -> list[dict[str, Any]]:
    """self, alternate, next and prev links of an items page."""
    url = request.url
    with_format: Callable[[str], str] = lambda fmt: str(url.include_query_params(f=fmt))  # noqa: E731
    links = [
        _link(str(url), "self", GEOJSON, "This page"),
        _link(with_format("html"), "alternate", HTML, "This page as HTML"),
    ]
    if page.offset + page.number_returned < page.number_matched:
        links.append(
            _link(
                str(url.include_query_params(offset=page.offset + page.limit, limit=page.limit)),
                "next",
                GEOJSON,
                "Next page",
            )
        )
    if page.offset > 0:
        links.append(
            _link(
                str(url.include_query_params(offset=max(0, page.offset - page.limit), limit=page.limit)),
                "prev",
                GEOJSON,
                "Previous page",
            )
        )
    return links
