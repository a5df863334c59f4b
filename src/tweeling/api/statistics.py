"""Routes: statistics of personal datasets per area, with small-cell and secondary suppression.

- ``GET /v1/statistics``: the datasets (unit, threshold, measures).
- ``GET /v1/statistics/{dataset_id}?level=buurt|wijk|gemeente``: one row per area.
- ``POST /v1/statistics/{dataset_id}/area``: the total in a GeoJSON Polygon/MultiPolygon
  (``crs`` EPSG:4326 by default, or EPSG:28992).

Every role may ask (``read_aggregate`` on personal data); the policy decision says whether the
answer is exact (analyst, data owner, admin: audited) or disclosure-controlled (everyone else).
Thin: the work is in ``tweeling.services.statistics``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tweeling.api.access import decision_of, principal_of, requires
from tweeling.core.errors import InvalidInputError
from tweeling.governance.roles import Action, Classification
from tweeling.services.governance import Governance
from tweeling.services.statistics import MAX_AREA_BYTES, MAX_AREA_VERTICES

DatasetId = Annotated[str, Path(description="Personal dataset id, e.g. residents.")]

AREA_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            "A GeoJSON Polygon or MultiPolygon (or a Feature with one), at most "
            f"{MAX_AREA_VERTICES} vertices and {MAX_AREA_BYTES // 1_000_000} MB; coordinates in the crs "
            "parameter (default EPSG:4326, longitude/latitude)."
        ),
        "content": {
            "application/geo+json": {"schema": {"type": "object"}},
            "application/json": {
                "schema": {"type": "object"},
                "example": {
                    "type": "Polygon",
                    "coordinates": [
                        [[4.66, 51.81], [4.68, 51.81], [4.68, 51.82], [4.66, 51.82], [4.66, 51.81]]
                    ],
                },
            },
        },
    }
}


def build_statistics_router(governance: Governance, base_path: str) -> APIRouter:
    """The statistics routes over the deployment's :class:`StatisticsService`."""
    router = APIRouter(prefix=base_path, tags=["statistics (personal data, disclosure-controlled)"])
    service = governance.statistics

    @router.get("/statistics", summary="Personal datasets served as statistics per area")
    @requires(Action.READ)
    def datasets(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/") + base_path
        listed = service.list_datasets()
        for item in listed:
            item["links"] = [
                {
                    "rel": "data",
                    "type": "application/json",
                    "href": f"{base}/statistics/{item['id']}?level={level}",
                }
                for level in item["levels"]
            ]
        return JSONResponse({"datasets": listed})

    @router.get("/statistics/{dataset_id}", summary="A personal dataset per buurt, wijk or the gemeente")
    @requires(Action.READ_AGGREGATE, Classification.PERSONAL)
    def table(
        request: Request,
        dataset_id: DatasetId,
        level: Annotated[str, Query(description="buurt (default), wijk or gemeente")] = "buurt",
    ) -> JSONResponse:
        document = service.table(
            dataset_id, level, principal=principal_of(request), detail=decision_of(request).detail
        )
        return JSONResponse(document, headers=_cache(request))

    @router.post(
        "/statistics/{dataset_id}/area",
        summary="A personal dataset's total in a custom area (GeoJSON polygon)",
        openapi_extra=AREA_BODY,
    )
    @requires(Action.READ_AGGREGATE, Classification.PERSONAL)
    async def area(
        request: Request,
        dataset_id: DatasetId,
        crs: Annotated[
            str | None,
            Query(description="CRS of the coordinates: EPSG:4326 (default, lon/lat) or EPSG:28992"),
        ] = None,
    ) -> JSONResponse:
        body = await _limited_body(request)
        document = await run_in_threadpool(
            service.area,
            dataset_id,
            body,
            crs=crs,
            principal=principal_of(request),
            detail=decision_of(request).detail,
        )
        return JSONResponse(document, headers=_cache(request))

    return router


async def _limited_body(request: Request) -> bytes:
    """The request body, refused (400) once it passes MAX_AREA_BYTES (without reading the rest)."""
    too_large = InvalidInputError(
        f"the area is larger than {MAX_AREA_BYTES // 1_000_000} MB of GeoJSON; simplify it",
        invalid_params=[{"name": "geometry", "reason": "too large"}],
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_AREA_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_AREA_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _cache(request: Request) -> dict[str, str]:
    """Exact answers are never cached; safe answers may be, per caller."""
    if decision_of(request).detail:
        return {"Cache-Control": "no-store"}
    return {"Cache-Control": "private, no-cache", "Vary": "Authorization"}
