"""Routes of the dataset catalogue: every dataset with its owner, licence, classification, legal
basis (for personal data) and lineage, as JSON and readable HTML.

- ``/v1/catalogue``: every dataset (``f=html`` for a page);
- ``/v1/catalogue/{dataset_id}``: one dataset (JSON or HTML);
- ``/v1/catalogue/{dataset_id}/lineage``: its upstream graph down to the raw sources;
- ``/v1/catalogue/runs/{job_id}/lineage``: the lineage of a scenario run (job).

The catalogue is open metadata, entries of personal datasets included: that they exist, why and
under which legal basis is public information (GDPR transparency). The lineage of a run is
shown to whoever may see the job (its owner, anyone for a published run, the scenario readers).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tweeling.api import html
from tweeling.api.access import principal_of, requires
from tweeling.api.features import FParam, wants_html
from tweeling.core.errors import NotFoundError
from tweeling.governance.catalogue import Catalogue, DatasetEntry, RunRecord, stored_scenario_version
from tweeling.governance.roles import Action, Principal
from tweeling.services.governance import Governance
from tweeling.services.jobs import JobManager
from tweeling.services.scenarios import ScenarioService
from tweeling.store.documents import DocumentStore

JSON = "application/json"
HTML = "text/html"

DatasetId = Annotated[str, Path(description="Dataset id, e.g. buildings.")]
JobId = Annotated[str, Path(description="Job id of a scenario run.")]


def _link(href: str, rel: str, media: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media, "title": title}


def entry_document(entry: DatasetEntry, catalogue: Catalogue, root: str, base: str) -> dict[str, Any]:
    """One catalogue entry as JSON: its metadata, resolved input files and sources, and links."""
    document = entry.model_dump(mode="json")
    document["personal_data"] = entry.is_personal
    document["endpoints"] = [root + path for path in entry.endpoints]
    lineage = document["lineage"]
    lineage["inputs"] = [catalogue.input_file(name).as_dict() for name in entry.lineage.inputs]
    lineage["sources"] = [
        {"id": source_id, **catalogue.source(source_id).model_dump(mode="json")}
        for source_id in entry.lineage.sources
    ]
    href = f"{base}/catalogue/{entry.id}"
    links = [
        _link(href, "self", JSON, "This catalogue entry"),
        _link(f"{href}?f=html", "alternate", HTML, "This catalogue entry as HTML"),
        _link(f"{href}/lineage", "http://www.w3.org/ns/prov#has_provenance", JSON, "Lineage graph"),
    ]
    if entry.kind == "layer":
        links.append(_link(f"{base}/collections/{entry.id}", "describes", JSON, "The collection"))
    document["links"] = links
    return document


def _versions(scenarios: ScenarioService, scenario_id: str) -> dict[int, dict[str, Any]]:
    documents = scenarios.documents
    if not documents.exists(scenario_id):
        return {}
    return {number: documents.load(scenario_id, number) for number in documents.versions(scenario_id)}


def run_record(scenarios: ScenarioService, job_id: str, principal: Principal) -> RunRecord:
    """What the job store holds about a scenario job ``principal`` may see (NotFoundError for one
    they may not, as the job routes answer). A job made before jobs recorded the version of the
    stored scenario they ran gets the stored version equal to its scenario, saved before it."""
    jobs = DocumentStore(scenarios.settings.data_dir, "jobs")
    try:
        record = jobs.record(job_id)
    except NotFoundError:
        raise NotFoundError(f"no job with id {job_id!r}") from None
    if not JobManager.visible_to(record, principal):
        raise NotFoundError(f"no job with id {job_id!r}")
    inputs = jobs.load(job_id)
    result_file = jobs.folder / job_id / "files" / "result.json"
    finished = record.get("status") == "successful" and result_file.is_file()
    result = json.loads(result_file.read_bytes()) if finished else None
    scenario_id = inputs.get("scenario_id")
    version = record.get("scenario_version")
    if scenario_id and version is None:
        version = stored_scenario_version(
            inputs.get("scenario") or {}, _versions(scenarios, scenario_id), str(record.get("created", ""))
        )
    return RunRecord.from_job(record, inputs, result, scenario_version=version)


def build_catalogue_router(governance: Governance, base_path: str) -> APIRouter:
    """The catalogue routes over the deployment's catalogue."""
    router = APIRouter(prefix=base_path, tags=["Dataset catalogue"])
    catalogue = governance.catalogue

    def urls(request: Request) -> tuple[str, str]:
        root = str(request.base_url).rstrip("/")
        return root, root + base_path

    @router.get("/catalogue", summary="Every dataset of the twin, with owner, licence and classification")
    @requires(Action.READ)
    def catalogue_list(request: Request, f: FParam = None) -> Response:
        root, base = urls(request)
        documents = [entry_document(entry, catalogue, root, base) for entry in catalogue.entries()]
        if wants_html(request, f):
            return HTMLResponse(html.catalogue(documents, base))
        return JSONResponse(
            {
                "datasets": documents,
                "links": [
                    _link(f"{base}/catalogue", "self", JSON, "Dataset catalogue"),
                    _link(f"{base}/catalogue?f=html", "alternate", HTML, "Dataset catalogue as HTML"),
                ],
            }
        )

    @router.get("/catalogue/runs/{job_id}/lineage", summary="Lineage of a scenario run (job)")
    @requires(Action.READ)
    def run_lineage(request: Request, job_id: JobId) -> Response:
        _, base = urls(request)
        scenarios: ScenarioService = request.app.state.scenarios
        registry = scenarios.registry
        models = [registry.models[model_id].info for model_id in registry.order()]
        document = catalogue.run_lineage(run_record(scenarios, job_id, principal_of(request)), models)
        document["links"] = [
            _link(f"{base}/catalogue/runs/{job_id}/lineage", "self", JSON, "This lineage"),
            _link(f"{base}/jobs/{job_id}", "up", JSON, "The job"),
        ]
        return JSONResponse(document)

    @router.get("/catalogue/{dataset_id}", summary="One dataset: metadata, legal basis, lineage summary")
    @requires(Action.READ)
    def catalogue_entry(request: Request, dataset_id: DatasetId, f: FParam = None) -> Response:
        root, base = urls(request)
        document = entry_document(catalogue.entry(dataset_id), catalogue, root, base)
        if wants_html(request, f):
            return HTMLResponse(html.catalogue_entry(document, base))
        return JSONResponse(document)

    @router.get("/catalogue/{dataset_id}/lineage", summary="Lineage graph of a dataset, down to raw sources")
    @requires(Action.READ)
    def dataset_lineage(request: Request, dataset_id: DatasetId) -> Response:
        _, base = urls(request)
        document = catalogue.lineage(dataset_id)
        document["links"] = [
            _link(f"{base}/catalogue/{dataset_id}/lineage", "self", JSON, "This lineage"),
            _link(f"{base}/catalogue/{dataset_id}", "up", JSON, "The catalogue entry"),
        ]
        return JSONResponse(document)

    return router
