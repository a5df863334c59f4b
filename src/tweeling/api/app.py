"""The FastAPI application: versioned base path ``/v1``, problem+json errors, API-Version header,
and the web viewer at ``/viewer/`` (``/`` redirects there).

Routers are thin: they parse the request, call a service function and serialise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

import tweeling
from tweeling.api import html
from tweeling.api.access import install_access_control, requires
from tweeling.api.audit import build_audit_router
from tweeling.api.auth import build_auth_router
from tweeling.api.catalogue import build_catalogue_router
from tweeling.api.features import FParam, build_router, wants_html
from tweeling.api.mqtt_bridge import MqttBridge
from tweeling.api.problems import install_problem_handlers
from tweeling.api.processes import build_processes_router
from tweeling.api.registers import build_registers_router
from tweeling.api.reviews import build_reviews_router
from tweeling.api.sensorthings import STA_ROOT, LiveFeed, build_hub_router, build_sta_router
from tweeling.api.statistics import build_statistics_router
from tweeling.api.viewer import ViewerApp, build_viewer_router
from tweeling.core.errors import TweelingError
from tweeling.governance.roles import ANONYMOUS, Action
from tweeling.services.governance import Governance
from tweeling.services.jobs import JobManager
from tweeling.services.scenarios import ScenarioService
from tweeling.services.sensors import SensorHub
from tweeling.services.settings import Settings, load_settings
from tweeling.services.status import StoreHandle, check_health
from tweeling.services.viewer import ARROW_STREAM, BaselineIndicators, BuildingsArrow
from tweeling.store import open_store

BASE_PATH = "/v1"
VIEWER_PATH = "/viewer"
API_VERSION = "1.0.0"
log = logging.getLogger("tweeling.api")
CONTACT = {"name": "Tweeling maintainers", "url": "https://github.com/tweeling-twin/tweeling"}


def create_app(settings: Settings, *, prepare_viewer: bool = False) -> FastAPI:
    """Build the application for the given settings (no global state).

    The sensor hub writes through one connection of this process when the store allows it (see
    ``Settings.sensors_writable``); with ``mqtt_url`` set, the MQTT bridge runs alongside. With
    ``prepare_viewer`` (the servers of the command line), the viewer's buildings payload is built
    in the background at start-up, so that the first visitor does not wait for it.
    """
    handle = StoreHandle(settings.resolved_store_url)
    sensor_stores = StoreHandle(settings.resolved_sensors_store_url, writable=settings.sensors_writable)
    hub = SensorHub(
        sensor_stores.writer
        if settings.sensors_writable
        else lambda: open_store(settings.resolved_sensors_store_url, read_only=True),
        readers=sensor_stores.use,
        base_url=settings.resolved_public_url + STA_ROOT,
    )
    feed = LiveFeed(hub)
    scenarios = ScenarioService(settings)
    jobs = JobManager(scenarios)
    indicator_layers = BaselineIndicators(scenarios)
    buildings = BuildingsArrow()
    bridge = MqttBridge(hub, settings.mqtt_url) if settings.mqtt_url else None
    governance = Governance.build(settings, store=handle, hub=hub, scenarios=scenarios)

    def _prepare_buildings() -> None:
        try:
            with handle.use() as store:
                buildings.get(store, governance.hidden_fields("buildings", ANONYMOUS))
        except TweelingError as error:
            log.warning("viewer buildings not prepared: %s", error.message)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if bridge is not None:
            bridge.start()
        if prepare_viewer:
            threading.Thread(target=_prepare_buildings, name="viewer-buildings", daemon=True).start()
        yield
        if bridge is not None:
            bridge.stop()
        hub.close()
        jobs.close()
        sensor_stores.close()
        handle.close()

    app = FastAPI(
        title="Tweeling — digital twin of Dordrecht",
        version=API_VERSION,
        description="Open data and services of the Tweeling city twin.",
        contact=CONTACT,
        license_info={"name": "EUPL-1.2"},
        openapi_url=f"{BASE_PATH}/openapi.json",
        docs_url=f"{BASE_PATH}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = handle
    app.state.sensors = hub
    app.state.scenarios = scenarios
    app.state.governance = governance
    install_problem_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)

    @app.middleware("http")
    async def _api_version(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["API-Version"] = API_VERSION
        return response

    @app.get("/", include_in_schema=False)
    @requires(Action.READ)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{VIEWER_PATH}/")

    @app.get(BASE_PATH, summary="Landing page", tags=["service"])
    @requires(Action.READ)
    def landing(request: Request, f: FParam = None) -> Response:
        base = str(request.base_url).rstrip("/") + BASE_PATH
        document = {
            "title": "Tweeling — digital twin of Dordrecht",
            "description": (
                "Open-source digital twin of the city of Dordrecht (GM0505): every layer of the city model "
                "through OGC API – Features; live sensors through OGC SensorThings API 1.1; scenario runs "
                "of the impact models through OGC API – Processes."
            ),
            "version": tweeling.__version__,
            "links": [
                {"rel": "self", "type": "application/json", "title": "This document", "href": base},
                {
                    "rel": "alternate",
                    "type": "text/html",
                    "title": "This document as HTML",
                    "href": f"{base}?f=html",
                },
                {
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "OpenAPI definition",
                    "href": f"{base}/openapi.json",
                },
                {
                    "rel": "service-doc",
                    "type": "text/html",
                    "title": "API documentation",
                    "href": f"{base}/docs",
                },
                {
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "Conformance classes",
                    "href": f"{base}/conformance",
                },
                {
                    "rel": "data",
                    "type": "application/json",
                    "title": "Collections",
                    "href": f"{base}/collections",
                },
                {"rel": "status", "type": "application/json", "title": "Health", "href": f"{base}/health"},
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
                    "type": "application/json",
                    "title": "Processes: run scenarios",
                    "href": f"{base}/processes",
                },
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/job-list",
                    "type": "application/json",
                    "title": "Scenario jobs",
                    "href": f"{base}/jobs",
                },
                {
                    "rel": "related",
                    "type": "application/json",
                    "title": "Stored scenarios",
                    "href": f"{base}/scenarios",
                },
                {
                    "rel": "related",
                    "type": "application/json",
                    "title": "Impact models and algorithm register",
                    "href": f"{base}/models",
                },
                {
                    "rel": "service",
                    "type": "application/json",
                    "title": "Sensor hub: OGC SensorThings API 1.1",
                    "href": str(request.base_url).rstrip("/") + STA_ROOT,
                },
                {
                    "rel": "alternate",
                    "type": "text/event-stream",
                    "title": "Live observations and alerts (Server-Sent Events)",
                    "href": f"{base}/sensors/live",
                },
                {
                    "rel": "related",
                    "type": "text/html",
                    "title": "3D viewer of the twin",
                    "href": str(request.base_url).rstrip("/") + f"{VIEWER_PATH}/",
                },
                {
                    "rel": "related",
                    "type": "application/json",
                    "title": "Viewer layer catalogue",
                    "href": f"{base}/viewer/layers",
                },
                {
                    "rel": "related",
                    "type": ARROW_STREAM,
                    "title": "All buildings for the viewer (Apache Arrow IPC stream)",
                    "href": f"{base}/viewer/buildings.arrow",
                },
                {
                    "rel": "related",
                    "type": "application/json",
                    "title": "Basemap style (MapLibre, offline OpenStreetMap tiles)",
                    "href": f"{base}/basemap/style.json",
                },
                {
                    "rel": "related",
                    "type": "application/json",
                    "title": "Basemap tiles (TileJSON)",
                    "href": f"{base}/basemap/tiles.json",
                },
            ],
        }
        if wants_html(request, f):
            return HTMLResponse(html.landing(document, base))
        return JSONResponse(document)

    app.include_router(build_router(handle, BASE_PATH))
    app.include_router(build_hub_router(hub, feed, BASE_PATH))
    app.include_router(build_sta_router(hub, mqtt_url=settings.mqtt_url))
    app.include_router(build_processes_router(scenarios, jobs, BASE_PATH))
    app.include_router(build_viewer_router(handle, hub, jobs, indicator_layers, buildings, BASE_PATH))
    for build_governance_router in (
        build_auth_router,
        build_audit_router,
        build_catalogue_router,
        build_registers_router,
        build_reviews_router,
        build_statistics_router,
    ):
        app.include_router(build_governance_router(governance, BASE_PATH))
    app.mount(VIEWER_PATH, ViewerApp(settings.resolved_viewer_dir / "dist"), name="viewer")

    @app.get(f"{BASE_PATH}/health", summary="Health check", tags=["service"])
    @requires(Action.READ)
    def health() -> JSONResponse:
        result = check_health(handle)
        document = result.as_dict()
        document["sensors"] = {
            "store": settings.resolved_sensors_store_url.split(":", 1)[0],
            "writable": settings.sensors_writable,
            "live_clients": len(feed.clients),
            "live_events_dropped": feed.dropped,
            "mqtt": bridge.stats() if bridge is not None else None,
        }
        return JSONResponse(
            document,
            status_code=200 if result.status == "pass" else 503,
            media_type="application/health+json",
        )

    install_access_control(app, governance, docs_path=f"{BASE_PATH}/docs")
    if settings.cors_origins:  # outermost, so that 401/403 answers carry CORS headers too
        # Browsers on the listed origins only (never "*" in production, see Settings); bearer tokens
        # travel in the Authorization header, so no cookies: allow_credentials stays False.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Prefer", "Idempotency-Key"],
            expose_headers=["Content-Crs", "API-Version", "Location", "Link", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )

    return app


def create_app_from_environment() -> FastAPI:
    """App factory for multi-process servers (``uvicorn --factory``): settings from the environment."""
    return create_app(load_settings(), prepare_viewer=True)
