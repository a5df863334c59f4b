"""Routes: the algorithm register and the sensor register.

- ``GET /v1/algorithms``: every model with its status (JSON list; ``f=html`` a page).
- ``GET /v1/algorithms/export``: the register per Algoritmeregister publicatiestandaard 1.0.0,
  validated against ``/v1/algorithms/schema``.
- ``GET /v1/algorithms/{id}``: one entry with its status history (``f=html``: readable, in Dutch).
- ``PUT /v1/algorithms/{id}/status``: change the status (administrators; "In gebruik" needs an
  approved ``model-in-use`` review).
- ``GET /v1/registers/sensors``: what every sensor is for and whether it can capture personal data.

``export`` and ``schema`` are declared before ``{model_id}`` so that they win.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tweeling.api import html
from tweeling.api.access import principal_of, requires
from tweeling.api.features import FParam, wants_html
from tweeling.api.sensorthings import STA_ROOT
from tweeling.governance.algorithm_register import RegisterEntry, register_schema
from tweeling.governance.roles import Action, Classification
from tweeling.services.governance import Governance


class StatusRequest(BaseModel):
    """The body of a status change."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="In ontwikkeling, In gebruik or Buiten gebruik")
    review_id: str | None = Field(
        default=None, description="The approved model-in-use review (required for 'In gebruik')"
    )


def entry_document(entry: RegisterEntry, base: str) -> dict[str, Any]:
    """One algorithm as the API serves it: the standard's fields, status history (roles, not
    names), what is missing, and links."""
    href = f"{base}/algorithms/{entry.model_id}"
    links = [
        {"rel": "self", "type": "application/json", "title": "This entry", "href": href},
        {"rel": "alternate", "type": "text/html", "title": "This entry as a page", "href": f"{href}?f=html"},
        {
            "rel": "collection",
            "type": "application/json",
            "title": "Algorithm register",
            "href": f"{base}/algorithms",
        },
        {
            "rel": "describedby",
            "type": "application/schema+json",
            "title": "JSON Schema of the Algoritmeregister 1.0.0 export",
            "href": f"{base}/algorithms/schema",
        },
    ]
    if entry.source == "impact-model":
        links.append(
            {
                "rel": "related",
                "type": "application/json",
                "title": "The model: indicators, parameters, method, limitations",
                "href": f"{base}/models/{entry.model_id}",
            }
        )
    return {
        "id": entry.model_id,
        "source": entry.source,
        "status": entry.status,
        "complete": entry.complete,
        "entry": dict(entry.fields),
        "status_history": [change.public() for change in entry.history],
        "problems": [{"field": p.field, "message": p.message} for p in entry.problems],
        "links": links,
    }


def entry_row(entry: RegisterEntry, base: str) -> dict[str, Any]:
    """One line of the register's list."""
    href = f"{base}/algorithms/{entry.model_id}"
    return {
        "id": entry.model_id,
        "name": entry.fields.get("name", ""),
        "status": entry.status,
        "category": entry.fields.get("publication_category", ""),
        "description_short": entry.fields.get("description_short", ""),
        "complete": entry.complete,
        "link": href,
        "html": f"{href}?f=html",
    }


def build_registers_router(governance: Governance, base_path: str) -> APIRouter:
    """The routes of the algorithm register and the sensor register."""
    router = APIRouter(prefix=base_path, tags=["registers"])
    register = governance.algorithms

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/") + base_path

    @router.get("/algorithms", summary="Algorithm register: every model with its status")
    @requires(Action.READ)
    def algorithms(request: Request, f: FParam = None) -> Response:
        base = base_of(request)
        rows = [entry_row(entry, base) for entry in register.entries()]
        if wants_html(request, f):
            return HTMLResponse(html.algorithm_register(rows, base))
        return JSONResponse(rows)

    @router.get(
        "/algorithms/export",
        summary="The register per Algoritmeregister publicatiestandaard 1.0.0 (validated)",
    )
    @requires(Action.READ)
    def export() -> JSONResponse:
        return JSONResponse(register.export(), media_type="application/json")

    @router.get("/algorithms/schema", summary="JSON Schema of the Algoritmeregister 1.0.0 export")
    @requires(Action.READ)
    def schema() -> JSONResponse:
        return JSONResponse(register_schema(), media_type="application/schema+json")

    @router.get("/algorithms/{model_id}", summary="One algorithm: register entry and status history")
    @requires(Action.READ)
    def algorithm(model_id: str, request: Request, f: FParam = None) -> Response:
        base = base_of(request)
        document = entry_document(register.entry(model_id), base)
        if wants_html(request, f):
            return HTMLResponse(html.algorithm_entry(document, base))
        return JSONResponse(document)

    @router.put(
        "/algorithms/{model_id}/status",
        summary="Change an algorithm's status (administrators; 'In gebruik' needs an approved review)",
    )
    @requires(Action.ADMINISTER)
    def set_status(model_id: str, change: StatusRequest, request: Request) -> JSONResponse:
        entry = register.set_status(
            model_id, change.status, actor=principal_of(request), review_id=change.review_id
        )
        return JSONResponse(entry_document(entry, base_of(request)))

    @router.get("/registers/sensors", summary="Sensor register: purpose, owner, personal data, retention")
    @requires(Action.READ)
    def sensors(request: Request, f: FParam = None) -> Response:
        public_only = not principal_of(request).sees_detail(Classification.INTERNAL)
        sta_root = str(request.base_url).rstrip("/") + STA_ROOT
        entries = governance.sensor_register.entries(public_only, sta_root)
        if wants_html(request, f):
            return HTMLResponse(html.sensor_register(entries, base_of(request), public_only=public_only))
        return JSONResponse(entries)

    return router
